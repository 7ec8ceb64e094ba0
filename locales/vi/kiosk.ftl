# Tiếng Việt: ngôn ngữ chính của ki-ốt. Mọi khoá dùng trong ui/ui/**/*.slint phải có ở đây.
language-name = Tiếng Việt

## Chung
btn-cancel = Hủy
btn-back = Quay lại
btn-confirm = Xác nhận và gửi
btn-finish = Hoàn tất
btn-home = Về trang đầu
step-of = Bước { $value }
demo-badge = TRÌNH DIỄN
timeout-warning = Màn hình sẽ quay về trang đầu sau { $value } giây.
timeout-continue = Tôi vẫn đang dùng

## Màn hình chờ
attract-welcome = Xin chào!
attract-headline-office = Làm thủ tục hành chính
attract-headline-hospital = Đăng ký khám bệnh
attract-touch = Chạm để bắt đầu
attract-hint = Chuẩn bị sẵn thẻ Căn cước công dân (CCCD) gắn chip
attract-privacy = Thông tin của bạn chỉ dùng cho thủ tục này và được xoá khỏi máy sau khi gửi.

## Chọn ngôn ngữ
lang-title = Chọn ngôn ngữ
lang-hint = Chạm vào ngôn ngữ bạn muốn dùng

## Nhận diện
identify-title = Đặt thẻ CCCD lên đầu đọc
identify-qr = Hoặc đưa mã QR trên thẻ vào trước camera
identify-waiting = Đang chờ thẻ…
identify-reading = Đang đọc thẻ, xin giữ nguyên thẻ…
err-card-removed = Thẻ bị rút ra quá sớm. Vui lòng đặt lại thẻ.
err-card-unreadable = Không đọc được thẻ. Vui lòng đặt lại thẻ hoặc dùng mã QR.
err-card-expired = Thẻ đã hết hạn. Vui lòng đến quầy để được hỗ trợ.
demo-tap-card = Mô phỏng: chạm thẻ
demo-show-qr = Mô phỏng: đưa mã QR
demo-remove-card = Mô phỏng: rút thẻ

## Đồng ý chụp ảnh khuôn mặt
consent-title = Xác thực bằng khuôn mặt
consent-body = Máy sẽ chụp ảnh khuôn mặt của bạn để so với ảnh trong thẻ CCCD. Ảnh chỉ dùng để xác thực và được xoá ngay sau đó. Bạn có thể từ chối và làm thủ tục tại quầy.
consent-accept = Tôi đồng ý
consent-decline = Không đồng ý

## Chụp khuôn mặt
face-title = Nhìn vào camera
face-look = Nhìn thẳng vào camera
face-closer = Lại gần hơn một chút
face-farther = Lùi ra xa một chút
face-hold-still = Giữ yên, đang chụp…
face-more-light = Chỗ đứng hơi tối, xin nhìn về phía đèn
face-ok = Đã xác thực khuôn mặt

## Chọn dịch vụ
services-title-office = Chọn thủ tục
services-title-hospital = Chọn khoa khám
services-essential = Thường dùng

## Xác nhận
confirm-title = Kiểm tra thông tin
confirm-name = Họ và tên
confirm-id = Số CCCD
confirm-dob = Ngày sinh
confirm-service-office = Thủ tục
confirm-service-hospital = Khoa khám

## Đang gửi
submitting-title = Đang gửi hồ sơ…
submitting-wait = Vui lòng chờ trong giây lát.

## Biên nhận
receipt-title = Đã hoàn tất
receipt-code = Mã hồ sơ
receipt-appointment = Lịch hẹn
receipt-lookup = Mã tra cứu
receipt-take = Vui lòng nhận phiếu in bên dưới màn hình.
receipt-offline = Mạng đang gián đoạn. Hồ sơ đã được lưu và sẽ tự động gửi khi có mạng.

## Thông báo
notice-return = Màn hình sẽ tự quay về trang đầu.
notice-consent-declined = Bạn đã không đồng ý xác thực khuôn mặt. Vui lòng đến quầy để được hỗ trợ.
notice-face-failed = Không xác thực được khuôn mặt. Vui lòng đến quầy để được hỗ trợ.
notice-timeout = Phiên làm việc đã kết thúc vì không có thao tác.
notice-cancelled = Đã hủy. Thông tin của bạn đã được xoá khỏi máy.
notice-out-of-service = Ki-ốt tạm ngừng phục vụ. Xin lỗi vì sự bất tiện.
