fn main() {
    let _w = kiosk_ui::AppWindow::new();
}
