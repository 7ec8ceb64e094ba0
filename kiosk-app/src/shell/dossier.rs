//! The `Dossier` adapter's side of the controller (issue 14): the procedure list grouped and
//! filtered by field, and the dossier form of the confirm step (its page, the choices, the
//! review rows). Pure mapping from the session view, the catalogue and the administrative
//! units into adapter values; `Shell` calls it from `render`.

use kiosk_ui::{Choice, Dossier, ReviewRow, ServiceCard};
use slint::{ModelRc, SharedString, VecModel};

use crate::admin_units::AdminUnits;
use crate::catalog::{Catalog, EntryKind};
use crate::i18n;
use crate::session::dossier::{FormPage, VISIT_REASONS};
use crate::session::SessionView;
use crate::vnkey;

use super::{group_digits, mask_id};

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
}

fn choice(code: impl Into<SharedString>, title: impl Into<SharedString>) -> Choice {
    Choice {
        code: code.into(),
        title: title.into(),
    }
}

/// The list of services for `filter` ("" = every field) whose title, description or field
/// holds every word of `search` (diacritics-insensitive, [`vnkey::search_matches`]), with a
/// heading on the first entry of each field, and the field chips (only when the catalogue has
/// more than one field).
pub(super) fn render_services(
    d: &Dossier<'_>,
    catalog: &Catalog,
    texts: &i18n::Catalog,
    lang: &str,
    filter: &str,
    search: &str,
) {
    let field_title = |f: &str| {
        let key = format!("field-{f}");
        if texts.has(lang, &key) || texts.has("vi", &key) {
            texts.t(lang, &key)
        } else {
            f.to_owned()
        }
    };
    let mut fields: Vec<String> = Vec::new();
    for e in catalog.entries() {
        if let Some(f) = &e.info.field {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
    }
    let mut cards = Vec::new();
    let mut last_field: Option<&str> = None;
    // Entries of a field stay together in the catalogue's order of first appearance.
    let mut ordered: Vec<_> = catalog.entries().iter().collect();
    ordered.sort_by_key(|e| {
        e.info
            .field
            .as_ref()
            .and_then(|f| fields.iter().position(|x| x == f))
            .unwrap_or(usize::MAX)
    });
    for e in ordered {
        let field = e.info.field.as_deref();
        if !filter.is_empty() && field != Some(filter) {
            continue;
        }
        if !search.is_empty() && !entry_matches(e, lang, search, &field_title) {
            continue;
        }
        let group = match field {
            Some(f) if fields.len() > 1 && last_field != Some(f) => field_title(f),
            _ => String::new(),
        };
        last_field = field;
        let text = |t: &Option<crate::catalog::Titles>| {
            t.as_ref()
                .map(|t| t.get(lang).to_owned())
                .unwrap_or_default()
        };
        let essential = matches!(
            e.kind,
            EntryKind::Procedure {
                essential: true,
                ..
            }
        );
        cards.push(ServiceCard {
            id: e.id.as_str().into(),
            title: e.title(lang).into(),
            summary: text(&e.info.summary).into(),
            fee: text(&e.info.fee).into(),
            processing: text(&e.info.processing).into(),
            icon: e.info.icon.clone().unwrap_or_default().into(),
            essential,
            group: group.into(),
        });
    }
    d.set_services(model(cards));
    let chips = if fields.len() > 1 {
        std::iter::once(choice("", texts.t(lang, "field-all")))
            .chain(fields.iter().map(|f| choice(f.as_str(), field_title(f))))
            .collect()
    } else {
        Vec::new()
    };
    d.set_fields(model(chips));
    d.set_field_filter(filter.into());
    d.set_search(search.into());
}

/// Whether catalogue entry `e` answers `search`: its title in the citizen's language or in
/// Vietnamese (a citizen reading English may still type the Vietnamese name), its description
/// or its field's name.
fn entry_matches(
    e: &crate::catalog::CatalogEntry,
    lang: &str,
    search: &str,
    field_title: &dyn Fn(&str) -> String,
) -> bool {
    let summary = e
        .info
        .summary
        .as_ref()
        .map(|t| t.get(lang).to_owned())
        .unwrap_or_default();
    let field = e.info.field.as_deref().map(field_title).unwrap_or_default();
    let texts = [
        e.title(lang),
        e.title("vi"),
        summary.as_str(),
        field.as_str(),
    ];
    vnkey::search_matches(search, &texts)
}

/// The form of the confirm step, or empty values on every other step (no personal value is
/// left in the adapter after the session).
pub(super) fn render_form(
    d: &Dossier<'_>,
    view: &SessionView,
    catalog: &Catalog,
    units: &AdminUnits,
    texts: &i18n::Catalog,
) {
    let lang = view.language.as_str();
    let Some((page, form)) = &view.form else {
        d.set_form_page("".into());
        d.set_message("".into());
        d.set_phone("".into());
        d.set_phone_count(0);
        d.set_province("".into());
        d.set_province_name("".into());
        d.set_ward("".into());
        d.set_street("".into());
        d.set_wards(model(Vec::new()));
        d.set_delivery("".into());
        d.set_reason("".into());
        d.set_service_title("".into());
        d.set_chip_rows(model(Vec::new()));
        d.set_rows(model(Vec::new()));
        d.set_components(model(Vec::new()));
        return;
    };
    d.set_form_page(page.name().into());
    d.set_message(
        view.notice
            .as_deref()
            .map(|n| format!("notice-{n}"))
            .unwrap_or_default()
            .into(),
    );
    let phone = form.phone.expose();
    d.set_phone(phone_grouped(phone).into());
    d.set_phone_count(i32::try_from(phone.len()).unwrap_or(0));
    let province = form.province.and_then(|p| units.province(p));
    d.set_province(
        form.province
            .map(|p| p.to_string())
            .unwrap_or_default()
            .into(),
    );
    d.set_province_name(province.map(|p| p.name.clone()).unwrap_or_default().into());
    d.set_provinces(model(
        units
            .provinces()
            .iter()
            .map(|p| choice(p.code.to_string(), p.name.as_str()))
            .collect(),
    ));
    d.set_wards(model(
        province
            .map(|p| {
                p.wards
                    .iter()
                    .map(|w| choice(w.code.to_string(), w.name.as_str()))
                    .collect()
            })
            .unwrap_or_default(),
    ));
    d.set_ward(form.ward.map(|w| w.to_string()).unwrap_or_default().into());
    d.set_street(form.street.expose().as_str().into());
    d.set_delivery(form.delivery.map(|x| x.code()).unwrap_or_default().into());
    d.set_reason(form.reason.clone().unwrap_or_default().into());
    d.set_reasons(model(
        VISIT_REASONS
            .iter()
            .map(|r| choice(*r, texts.t(lang, &format!("reason-{r}"))))
            .collect(),
    ));
    let entry = view.service.as_ref().and_then(|id| catalog.get(id));
    d.set_service_title(
        entry
            .map(|e| e.title(lang).to_owned())
            .unwrap_or_default()
            .into(),
    );

    let hospital = matches!(entry.map(|e| &e.kind), Some(EntryKind::Department { .. }));
    let chip = texts.t(lang, "review-source-chip");
    let you = texts.t(lang, "review-source-you");
    let row = |label: &str, value: String, source: &str, page: Option<FormPage>| ReviewRow {
        label: texts.t(lang, label).into(),
        value: value.into(),
        source: source.into(),
        page: page.map(FormPage::name).unwrap_or_default().into(),
    };
    let mut chip_rows = Vec::new();
    if let Some(c) = &view.citizen {
        chip_rows.push(row(
            "review-name",
            c.full_name().expose().clone(),
            &chip,
            None,
        ));
        chip_rows.push(row(
            "review-id",
            mask_id(c.id_number().expose()),
            &chip,
            None,
        ));
        chip_rows.push(row(
            "review-dob",
            c.date_of_birth().expose().clone(),
            &chip,
            None,
        ));
        chip_rows.push(row("review-sex", c.sex().expose().clone(), &chip, None));
        if let Some(r) = c.place_of_residence() {
            chip_rows.push(row("review-residence", r.expose().clone(), &chip, None));
        }
        if let Some(o) = &c.details().place_of_origin {
            chip_rows.push(row("review-origin", o.expose().clone(), &chip, None));
        }
    }
    if hospital {
        chip_rows.push(row(
            "review-insurance",
            texts.t(lang, "review-insurance-value"),
            &chip,
            None,
        ));
    }
    d.set_chip_rows(model(chip_rows));
    let rows = if hospital {
        vec![row(
            "review-reason",
            form.reason
                .as_ref()
                .map(|r| texts.t(lang, &format!("reason-{r}")))
                .unwrap_or_else(|| texts.t(lang, "review-reason-none")),
            &you,
            Some(FormPage::Reason),
        )]
    } else {
        let address = form
            .province
            .zip(form.ward)
            .map(|(p, w)| units.address_words(p, w, ""))
            .unwrap_or_default();
        vec![
            row(
                "review-phone",
                phone_grouped(phone),
                &you,
                Some(FormPage::Phone),
            ),
            row("review-address", address, &you, Some(FormPage::Province)),
            row(
                "review-street",
                if form.street.expose().is_empty() {
                    texts.t(lang, "review-street-none")
                } else {
                    form.street.expose().clone()
                },
                &you,
                Some(FormPage::Street),
            ),
            row(
                "review-delivery",
                form.delivery
                    .map(|x| texts.t(lang, &format!("delivery-{}", x.code())))
                    .unwrap_or_default(),
                &you,
                Some(FormPage::Delivery),
            ),
        ]
    };
    d.set_rows(model(rows));
    let components = match entry.map(|e| &e.kind) {
        Some(EntryKind::Procedure { components, .. }) => components
            .iter()
            .map(|c| {
                choice(
                    if c.satisfied_by_identity {
                        "chip"
                    } else {
                        "bring"
                    },
                    c.titles.get(lang),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    d.set_components(model(components));
}

/// `0912345678` -> `091 234 5678`, as Vietnamese mobile numbers are read.
fn phone_grouped(digits: &str) -> String {
    match digits.len() {
        0..=6 => group_digits(digits),
        _ => format!(
            "{} {}",
            group_digits(digits.get(..6).unwrap_or_default()),
            digits.get(6..).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::phone_grouped;

    #[test]
    fn phone_numbers_read_in_groups() {
        assert_eq!(phone_grouped(""), "");
        assert_eq!(phone_grouped("091"), "091");
        assert_eq!(phone_grouped("09123"), "091 23");
        assert_eq!(phone_grouped("0912345678"), "091 234 5678");
    }
}
