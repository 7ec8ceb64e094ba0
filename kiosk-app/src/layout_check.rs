//! The layout check (issue 14): walks the laid-out Slint item tree of a window and reports
//! what a citizen would see cut off or covered.
//!
//! - a `Text` whose laid-out text does not fit its element (wider than it on one line, a word
//!   wider than a wrapping text, more lines than its height holds);
//! - a `Text` or a touch target partly or wholly outside the window, or cut by an ancestor that
//!   clips (`clip: true`; content of a `Flickable` is left out: scrolled-away content is what
//!   it is for, and the list's own box is not checked);
//! - a `Text` sticking out of an enclosing element, layouts included, up to a scrolling list
//!   (it is drawn over a border or into the next element);
//! - two visible touch targets that overlap, and a `Text` covered by a touch target of another
//!   widget (one that is not drawn by the text's own button).
//!
//! Slint 1.18's public testing API (`i_slint_backend_testing::ElementHandle`) gives an
//! element's type, id, size and position but not a text's preferred size, so this walks the
//! item tree through `i_slint_core` (pinned to the same version as `slint`) and asks each text
//! item for its layout info, measured by the window's renderer with the real fonts.
//! Touch areas that cover the whole window (the activity catcher, a modal's backdrop) are not
//! targets; what lies under a modal backdrop drawn later is not visible and is skipped.
//! Transforms (rotation, scale) are ignored: the kiosk's pages use none.

use std::fmt;
use std::ops::ControlFlow;

use i_slint_core::item_tree::{ItemRc, ParentItemTraversalMode};
use i_slint_core::items::{ComplexText, Flickable, Opacity, SimpleText, TextWrap, TouchArea};
use i_slint_core::layout::Orientation;
use i_slint_core::window::WindowInner;

/// Layout rounding: a logical pixel either way is not a defect.
const TOLERANCE: f32 = 1.0;

/// What is wrong with an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// The text needs more width than its element has (one line, or its longest word).
    TextTooWide,
    /// The wrapped (or single-line) text needs more height than its element has.
    TextTooTall,
    /// The element lies partly or wholly outside the window.
    OutsideWindow,
    /// A clipping ancestor (`clip: true`) cuts the element.
    Clipped,
    /// The text's element sticks out of its parent element.
    OutsideParent,
    /// Two touch targets overlap.
    TargetsOverlap,
    /// A touch target of another widget lies over (or under) the text.
    TextCovered,
}

/// One defect, with where it is and the text concerned.
#[derive(Debug, Clone)]
pub struct Finding {
    /// What is wrong.
    pub kind: FindingKind,
    /// The element: the nearest named element (`Component::id`) and the item's type.
    pub element: String,
    /// The text shown (the other element's name for an overlap of targets).
    pub text: String,
    /// Sizes and positions, in logical pixels.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: {} {:?}: {}",
            self.kind, self.element, self.text, self.detail
        )
    }
}

#[derive(Clone, Copy, Debug)]
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl Rect {
    fn right(self) -> f32 {
        self.x + self.w
    }
    fn bottom(self) -> f32 {
        self.y + self.h
    }
    /// How far `self` sticks out of `outer` on its worst side.
    fn overhang(self, outer: Rect) -> f32 {
        (outer.x - self.x)
            .max(outer.y - self.y)
            .max(self.right() - outer.right())
            .max(self.bottom() - outer.bottom())
    }
    fn intersect(self, o: Rect) -> Option<Rect> {
        let x = self.x.max(o.x);
        let y = self.y.max(o.y);
        let r = self.right().min(o.right());
        let b = self.bottom().min(o.bottom());
        (r - x > TOLERANCE && b - y > TOLERANCE).then_some(Rect {
            x,
            y,
            w: r - x,
            h: b - y,
        })
    }
    fn area(self) -> f32 {
        self.w * self.h
    }
}

impl fmt::Display for Rect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({:.0},{:.0} {:.0}x{:.0})",
            self.x, self.y, self.w, self.h
        )
    }
}

/// A visible item, in paint order.
struct Seen {
    /// Paint order: a later item is drawn over an earlier one.
    order: usize,
    item: ItemRc,
    /// Absolute geometry.
    rect: Rect,
    /// The part not cut by clipping ancestors (Flickables included) or the window; `None`
    /// when nothing of it shows.
    visible: Option<Rect>,
}

fn absolute(item: &ItemRc) -> Rect {
    let g = item.geometry();
    let p = item.map_to_window(g.origin);
    Rect {
        x: p.x,
        y: p.y,
        w: g.size.width,
        h: g.size.height,
    }
}

fn parent(item: &ItemRc) -> Option<ItemRc> {
    item.parent_item(ParentItemTraversalMode::StopAtPopups)
}

fn is_ancestor(ancestor: &ItemRc, item: &ItemRc) -> bool {
    let mut cur = parent(item);
    while let Some(p) = cur {
        if &p == ancestor {
            return true;
        }
        cur = parent(&p);
    }
    false
}

/// The item's (qualified) ids and types from the compiler's debug info.
fn names(item: &ItemRc) -> Vec<(String, String)> {
    item.element_type_names_and_ids(0)
        .unwrap_or_default()
        .into_iter()
        .map(|(t, id)| (t.to_string(), id.to_string()))
        .collect()
}

/// `Page::id > Type`: the nearest named element (the item itself or an ancestor) and the
/// item's own type.
fn describe(item: &ItemRc) -> String {
    let own = names(item)
        .first()
        .map(|(t, _)| t.clone())
        .unwrap_or_else(|| "?".into());
    let mut cur = Some(item.clone());
    while let Some(i) = cur {
        if let Some((_, id)) = names(&i).into_iter().find(|(_, id)| !id.is_empty()) {
            return if &i == item {
                id
            } else {
                format!("{id} > {own}")
            };
        }
        cur = parent(&i);
    }
    own
}

fn text_of(item: &ItemRc) -> Option<String> {
    if let Some(t) = item.downcast::<ComplexText>() {
        return Some(t.as_pin_ref().text().to_string());
    }
    item.downcast::<SimpleText>()
        .map(|t| t.as_pin_ref().text().to_string())
}

fn wraps(item: &ItemRc) -> bool {
    item.downcast::<ComplexText>()
        .is_some_and(|t| t.as_pin_ref().wrap() != TextWrap::NoWrap)
}

/// Hidden by an `opacity: 0` ancestor.
fn transparent(item: &ItemRc) -> bool {
    let mut cur = Some(item.clone());
    while let Some(i) = cur {
        if i.downcast::<Opacity>()
            .is_some_and(|o| o.as_pin_ref().opacity() <= 0.01)
        {
            return true;
        }
        cur = parent(&i);
    }
    false
}

/// The nearest ancestor that clips (`clip: true`, a Flickable), and whether it scrolls.
fn clipping_ancestors(item: &ItemRc) -> Vec<(ItemRc, bool)> {
    let mut out = Vec::new();
    let mut cur = parent(item);
    while let Some(p) = cur {
        if p.borrow().as_ref().clips_children() {
            let scrolls = p.downcast::<Flickable>().is_some();
            out.push((p.clone(), scrolls));
        }
        cur = parent(&p);
    }
    out
}

/// Checks the window's current frame; returns every defect found (empty when none).
#[must_use]
pub fn check(window: &slint::Window) -> Vec<Finding> {
    let inner = WindowInner::from_pub(window);
    let adapter = inner.window_adapter();
    let scale = window.scale_factor();
    let size = window.size();
    #[allow(clippy::cast_precision_loss)] // window sizes are far below 2^24
    let screen = Rect {
        x: 0.0,
        y: 0.0,
        w: size.width as f32 / scale,
        h: size.height as f32 / scale,
    };
    let root = ItemRc::new_root(inner.component());
    let mut seen = Vec::new();
    root.visit_descendants(|item| {
        if item.is_visible() && !transparent(item) {
            let rect = absolute(item);
            let mut visible = rect.intersect(screen);
            for (clip, _) in clipping_ancestors(item) {
                visible = visible.and_then(|v| v.intersect(absolute(&clip)));
            }
            // Kept when nothing of it shows too: a button wholly below the window is a defect.
            seen.push(Seen {
                order: seen.len(),
                item: item.clone(),
                rect,
                visible,
            });
        }
        ControlFlow::<()>::Continue(())
    });

    // Touch targets; a window-sized one is a catcher or a modal's backdrop, and what was drawn
    // before the last backdrop lies under it.
    let covers_window = |r: Rect| r.w >= screen.w - TOLERANCE && r.h >= screen.h - TOLERANCE;
    let is_target = |s: &Seen| {
        s.item
            .downcast::<TouchArea>()
            .is_some_and(|t| t.as_pin_ref().enabled())
    };
    let backdrop = seen
        .iter()
        .enumerate()
        .filter(|(i, s)| *i > 0 && is_target(s) && covers_window(s.rect))
        .map(|(i, _)| i)
        // A backdrop is drawn over page content (a catcher under it is not one).
        .rfind(|&i| seen[..i].iter().any(|s| text_of(&s.item).is_some()));
    let on_top = &seen[backdrop.unwrap_or(0)..];

    let mut findings = Vec::new();
    let mut report = |kind, item: &ItemRc, text: String, detail: String| {
        findings.push(Finding {
            kind,
            element: describe(item),
            text,
            detail,
        });
    };

    let targets: Vec<(&Seen, Rect)> = on_top
        .iter()
        .filter(|s| is_target(s) && !covers_window(s.rect))
        .filter_map(|s| s.visible.map(|v| (s, v)))
        .collect();

    for s in on_top {
        let text = text_of(&s.item);
        let target = is_target(s) && !covers_window(s.rect);
        if text.as_deref().is_none_or(str::is_empty) && !target {
            continue;
        }
        let shown = text.clone().unwrap_or_default();
        let clips = clipping_ancestors(&s.item);
        let scrolled = clips.iter().any(|(_, scrolls)| *scrolls);
        let over = s.rect.overhang(screen);
        // In a scrolling list the list's own box is what the window must hold.
        if over > TOLERANCE && !scrolled {
            report(
                FindingKind::OutsideWindow,
                &s.item,
                shown.clone(),
                format!("{} sticks out of the window by {over:.0}", s.rect),
            );
        } else if let Some((clip, _)) = clips
            .into_iter()
            .take_while(|(_, scrolls)| !scrolls)
            .find(|(c, scrolls)| !scrolls && s.rect.overhang(absolute(c)) > TOLERANCE)
        {
            report(
                FindingKind::Clipped,
                &s.item,
                shown.clone(),
                format!("{} cut by {} {}", s.rect, describe(&clip), absolute(&clip)),
            );
        }
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        // Does the text fit its element?
        let wa = &adapter;
        let layout = s.item.borrow();
        let horizontal = layout
            .as_ref()
            .layout_info(Orientation::Horizontal, -1.0, wa, &s.item);
        let need_w = if wraps(&s.item) {
            horizontal.min
        } else {
            horizontal.preferred
        };
        if need_w > s.rect.w + TOLERANCE {
            report(
                FindingKind::TextTooWide,
                &s.item,
                text.clone(),
                format!("needs {need_w:.0} wide, has {:.0}", s.rect.w),
            );
        }
        let vertical = layout
            .as_ref()
            .layout_info(Orientation::Vertical, s.rect.w, wa, &s.item);
        if vertical.preferred > s.rect.h + TOLERANCE {
            report(
                FindingKind::TextTooTall,
                &s.item,
                text.clone(),
                format!(
                    "needs {:.0} high at width {:.0}, has {:.0}",
                    vertical.preferred, s.rect.w, s.rect.h
                ),
            );
        }
        // Inside every enclosing element up to a scrolling list (layouts included: a
        // layout's box is where its parent put it).
        let mut cur = parent(&s.item);
        while let Some(p) = cur {
            if p.downcast::<Flickable>().is_some() {
                break;
            }
            let pr = absolute(&p);
            let over = s.rect.overhang(pr);
            if pr.w > 0.0 && pr.h > 0.0 && over > TOLERANCE {
                report(
                    FindingKind::OutsideParent,
                    &s.item,
                    text.clone(),
                    format!(
                        "{} sticks out of {} {pr} by {over:.0}",
                        s.rect,
                        describe(&p)
                    ),
                );
                break;
            }
            cur = parent(&p);
        }
        // Covered by a touch target that is not its own widget's: a button's touch area is
        // its label's sibling (or ancestor) and holds the whole label.
        let Some(shown) = s.visible else {
            continue;
        };
        for (t, t_visible) in &targets {
            let holds = shown.overhang(*t_visible) <= TOLERANCE;
            let own = (parent(&t.item).is_some_and(|p| is_ancestor(&p, &s.item))
                || is_ancestor(&t.item, &s.item))
                && holds;
            // A page's background catcher drawn under the text is not a cover.
            if own || (holds && t.order < s.order) {
                continue;
            }
            if let Some(both) = shown.intersect(*t_visible) {
                report(
                    FindingKind::TextCovered,
                    &s.item,
                    text.clone(),
                    format!("{shown} under {} {both}", describe(&t.item)),
                );
            }
        }
    }
    for (i, (a, av)) in targets.iter().enumerate() {
        for (b, bv) in &targets[i + 1..] {
            // A background catcher under a button holding it whole takes only what the
            // button leaves.
            let background = (a.order < b.order && bv.overhang(*av) <= TOLERANCE)
                || (b.order < a.order && av.overhang(*bv) <= TOLERANCE);
            if background || is_ancestor(&a.item, &b.item) || is_ancestor(&b.item, &a.item) {
                continue;
            }
            if let Some(both) = av.intersect(*bv) {
                if both.area() > TOLERANCE * TOLERANCE {
                    report(
                        FindingKind::TargetsOverlap,
                        &a.item,
                        describe(&b.item),
                        format!("{av} and {bv} share {both}"),
                    );
                }
            }
        }
    }
    findings
}
