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
err-card-unreadable = Không đọc được thẻ. Vui lòng đặt thẻ nằm yên trên đầu đọc.
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
face-one-person = Chỉ một người đứng trước camera
face-straight = Nhìn thẳng, giữ đầu ngay
face-too-bright = Chỗ đứng quá sáng, xin lùi khỏi nắng
face-turn-left = Quay đầu sang TRÁI của bạn
face-turn-right = Quay đầu sang PHẢI của bạn
face-look-straight = Nhìn thẳng lại vào camera

## Chọn dịch vụ
services-title-office = Chọn thủ tục
services-title-hospital = Chọn khoa khám
services-essential = Dịch vụ thiết yếu

## Xác nhận
confirm-title = Kiểm tra thông tin
confirm-name = Họ và tên
confirm-id = Số định danh cá nhân
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
receipt-queue = Số thứ tự
receipt-lookup = Mã tra cứu
receipt-take = Vui lòng nhận phiếu in bên dưới màn hình.
receipt-offline = Mạng đang gián đoạn. Hồ sơ đã được lưu và sẽ tự động gửi khi có mạng.

## Thông báo
notice-return = Màn hình sẽ tự quay về trang đầu.
notice-face-failed = Không xác thực được khuôn mặt. Vui lòng đến quầy để được hỗ trợ.
notice-timeout = Phiên làm việc đã kết thúc vì không có thao tác.
notice-cancelled = Đã hủy. Thông tin của bạn đã được xoá khỏi máy.
notice-out-of-service = Ki-ốt tạm ngừng phục vụ. Xin lỗi vì sự bất tiện.

## Notices the session shows (key = notice- + the session's message key)
btn-retry = Thử lại
notice-card-removed = Thẻ đã được rút ra. Thông tin của bạn đã được xoá khỏi máy.
notice-card-removed-during-read = Thẻ bị rút ra quá sớm. Vui lòng đặt lại thẻ và giữ yên.
notice-card-unreadable = Không đọc được thẻ. Vui lòng đặt thẻ nằm yên trên đầu đọc rồi thử lại. Nếu vẫn không được, xin hỏi cán bộ tại quầy.
notice-qr-not-card = Đây không phải mã QR của thẻ căn cước. Vui lòng đưa mã QR in trên thẻ, hoặc đặt thẻ lên đầu đọc.
notice-card-not-authentic = Không xác thực được thẻ. Vui lòng đến quầy để được hỗ trợ.
notice-reader-unavailable = Đầu đọc thẻ chưa sẵn sàng. Vui lòng đến quầy để được hỗ trợ.
notice-consent-declined = Bạn đã không đồng ý xác thực khuôn mặt. Vui lòng đến quầy để được hỗ trợ.
notice-face-not-matched = Khuôn mặt chưa khớp với ảnh trên thẻ. Vui lòng nhìn thẳng vào máy ảnh và thử lại.
notice-face-not-live = Chưa xác nhận được người thật. Vui lòng làm theo hướng dẫn và thử lại.
notice-face-rejected = Không xác thực được khuôn mặt. Vui lòng đến quầy để được hỗ trợ.
notice-submit-rejected = Hồ sơ chưa được tiếp nhận. Vui lòng đến quầy để được hỗ trợ.
notice-submit-failed = Chưa gửi được hồ sơ. Thông tin của bạn không bị mất; vui lòng đến quầy để được hỗ trợ.
notice-submit-pending = Hồ sơ của bạn đã được lưu và sẽ được gửi. Cán bộ sẽ hỗ trợ bạn nhận giấy hẹn.
notice-printer-failed = Không in được biên nhận. Hồ sơ của bạn đã được tiếp nhận. Vui lòng ghi lại mã hồ sơ trên màn hình và hỏi cán bộ để nhận biên nhận.

## Spoken prompts (key = say- + the session's message key), read aloud by the speech engine
say-choose-language = Vui lòng chọn ngôn ngữ.
say-identify-prompt = Vui lòng đặt thẻ căn cước lên đầu đọc.
say-consent-prompt = Vui lòng đọc và đồng ý xác thực khuôn mặt.
say-face-prompt = Vui lòng nhìn thẳng vào máy ảnh.
say-choose-service = Vui lòng chọn thủ tục.
say-confirm-prompt = Vui lòng kiểm tra thông tin và xác nhận.
say-submitting = Đang gửi hồ sơ, vui lòng chờ.
say-receipt-ready = Đã tiếp nhận hồ sơ. Vui lòng nhận giấy hẹn.
say-still-there = Bạn vẫn đang sử dụng chứ? Chạm vào màn hình để tiếp tục.

## Printed receipt
service-code = Mã thủ tục { $value }
department-code = Mã khoa { $value }
print-title-receipt = GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ
print-title-ticket = PHIẾU SỐ THỨ TỰ KHÁM BỆNH
print-dossier-code = Mã hồ sơ
print-procedure = Thủ tục
print-department = Khoa khám
print-applicant = Người nộp
print-received = Thời gian tiếp nhận
print-appointment = Ngày hẹn trả kết quả
print-lookup-code = Mã tra cứu
print-footer-lookup = Tra cứu tình trạng hồ sơ bằng mã QR này
print-registration-code = Mã đăng ký khám
print-footer-ticket = Vui lòng chờ gọi tên tại khoa khám.
print-footer-staff = Cần tra cứu hồ sơ, vui lòng hỏi cán bộ tiếp nhận với mã hồ sơ này.
print-nation = CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
print-motto = Độc lập - Tự do - Hạnh phúc
print-id-number = Số định danh cá nhân
print-place = Nơi trả kết quả
print-weekday-monday = Thứ Hai
print-weekday-tuesday = Thứ Ba
print-weekday-wednesday = Thứ Tư
print-weekday-thursday = Thứ Năm
print-weekday-friday = Thứ Sáu
print-weekday-saturday = Thứ Bảy
print-weekday-sunday = Chủ Nhật

## Nhận diện: số định danh và đọc chip (issue 3). Khối riêng: chỉ thêm khoá mới ở đây.
id-title = Nhập số định danh cá nhân
id-entry-label = Số định danh cá nhân:
keypad-erase = Xoá
keypad-ok = Xong
place-card-title = Mời đặt thẻ căn cước lên đầu đọc
notice-id-needed-first = Thẻ đã nằm trên đầu đọc: cứ để yên. Giờ hãy nhập số định danh cá nhân rồi bấm Xong.
notice-id-incomplete = Số định danh cá nhân cần đủ 12 chữ số.
notice-wrong-id = Số { $value } không mở được thẻ trên đầu đọc. Hãy kiểm tra lại số, hoặc xem có đúng thẻ của bạn không.
say-id-prompt = Vui lòng nhập số định danh cá nhân 12 số in ở mặt trước thẻ, hoặc đưa mã QR trên thẻ vào trước camera.
say-place-card = Mời đặt thẻ căn cước lên đầu đọc và giữ yên.
say-id-needed-first = Thẻ đã nằm trên đầu đọc, cứ để yên ở đó. Bây giờ hãy nhập số định danh cá nhân rồi bấm Xong.
say-id-incomplete = Số định danh cá nhân cần đủ 12 chữ số.
say-wrong-id = Số vừa nhập không mở được thẻ đang đặt trên đầu đọc. Vui lòng kiểm tra lại số, hoặc xem đây có đúng là thẻ của bạn không.
id-why = Số này mở khoá chip trong thẻ. Số in ở mặt trước thẻ, chỗ tô vàng:
id-where-cccd = Thẻ Căn cước công dân (CCCD)
id-where-cancuoc = Thẻ Căn cước (mẫu mới)

## Session safety and supervised devices (issue 11). Own block: new keys only here.
notice-card-too-slow = Thẻ phản hồi quá lâu. Vui lòng nhấc thẻ lên rồi đặt lại nằm phẳng trên đầu đọc, hoặc hỏi cán bộ tại quầy.
notice-read-try-again = Chưa đọc được thẻ do lỗi của máy. Vui lòng nhấc thẻ lên rồi đặt lại để thử lại.
notice-face-try-again = Chưa kiểm tra được khuôn mặt do lỗi của máy. Vui lòng bấm Thử lại.
say-card-too-slow = Thẻ phản hồi quá lâu. Vui lòng nhấc thẻ lên rồi đặt lại nằm phẳng trên đầu đọc, hoặc hỏi cán bộ.
say-read-try-again = Chưa đọc được thẻ. Vui lòng nhấc thẻ lên rồi đặt lại.
say-face-try-again = Chưa kiểm tra được khuôn mặt. Vui lòng bấm Thử lại.
notice-card-check-unavailable = Máy hiện chưa kiểm tra được thẻ căn cước. Vui lòng đến quầy để cán bộ hỗ trợ.
say-card-check-unavailable = Máy hiện chưa kiểm tra được thẻ. Vui lòng hỏi cán bộ tại quầy.
say-printer-failed = Không in được biên nhận. Vui lòng ghi lại mã hồ sơ và hỏi cán bộ.

## Out of service (a device is missing: the kiosk starts anyway and waits for it)
out-of-service-title = Máy tạm ngừng phục vụ
out-of-service-body = Vui lòng đến quầy tiếp nhận, cán bộ sẽ hỗ trợ bạn. Máy sẽ tự hoạt động lại khi thiết bị sẵn sàng.
# For staff: which devices to check; $value lists them with a reason code.
out-of-service-staff = Thiết bị cần kiểm tra: { $value }
device-card-reader = Đầu đọc thẻ
device-camera = Camera
device-printer = Máy in
# For staff, on the start screen: the kiosk still serves.
staff-paper-near-end = Máy in sắp hết giấy: cán bộ vui lòng thay cuộn giấy.

## The camera in the kiosk (issue 12). Own block: new keys only here.
notice-camera-unavailable = Máy ảnh đang tạm thời không hoạt động. Vui lòng chờ một lát rồi bấm Thử lại, hoặc đến quầy để được hỗ trợ.
notice-camera-unusable = Máy ảnh chưa được cài đặt đúng. Vui lòng đến quầy để được hỗ trợ.
say-camera-unavailable = Máy ảnh đang tạm thời không hoạt động. Vui lòng chờ một lát rồi bấm Thử lại.
say-camera-unusable = Máy ảnh chưa được cài đặt đúng. Vui lòng đến quầy để được hỗ trợ.

## Trợ giúp, gọi cán bộ, chế độ hỗ trợ, hiển thị (issue 14). Khối riêng: chỉ thêm khoá mới ở đây.
btn-help = Trợ giúp
btn-large-text = Chữ to
btn-high-contrast = Tương phản cao
help-title = Bạn cần giúp đỡ?
help-body = Cán bộ ở đây sẵn sàng giúp bạn. Bấm "Gọi cán bộ" và chờ tại máy, hoặc gọi đường dây nóng.
help-hotline = Đường dây nóng: { $value }
help-desk = Cán bộ ở: { $value }
help-call-staff = Gọi cán bộ
help-staff-called = Đã gọi cán bộ. Vui lòng chờ tại đây, cán bộ sẽ đến ngay.
help-cancel-call = Huỷ gọi
help-close = Đóng
help-volunteer = Dành cho tình nguyện viên
pin-title = Tình nguyện viên: nhập mã PIN để bật chế độ hỗ trợ
pin-wrong = Mã PIN không đúng.
pin-locked = Nhập sai quá nhiều lần. Vui lòng chờ một phút.
assisted-badge = Chế độ hỗ trợ: có tình nguyện viên giúp
assisted-end = Tắt hỗ trợ
say-help = Đây là phần trợ giúp. Bấm Gọi cán bộ nếu bạn cần người giúp.
say-staff-called = Đã gọi cán bộ. Vui lòng chờ tại đây.
## The dossier and hospital journeys (issue 14). Own block: new keys only here.
field-all = Tất cả
field-residence = Cư trú
field-civil-status = Hộ tịch
field-justice = Tư pháp
field-id-card = Căn cước
scroll-more = Kéo xuống để xem thêm
btn-next = Tiếp tục
btn-skip = Bỏ qua
btn-change = Sửa
btn-submit = Gửi hồ sơ
form-phone-title = Số điện thoại di động của bạn
form-phone-why = Để nhận tin nhắn về hồ sơ. Số có 10 chữ số, bắt đầu bằng 0.
notice-phone-invalid = Số điện thoại chưa đúng. Số di động có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.
say-phone-invalid = Số điện thoại chưa đúng. Vui lòng kiểm tra lại.
notice-choose-province = Vui lòng chọn tỉnh, thành phố.
say-choose-province = Vui lòng chọn tỉnh, thành phố.
notice-choose-ward = Vui lòng chọn phường, xã.
say-choose-ward = Vui lòng chọn phường, xã.
notice-choose-delivery = Vui lòng chọn cách nhận kết quả.
say-choose-delivery = Vui lòng chọn cách nhận kết quả.
form-province-title = Địa chỉ liên hệ: tỉnh, thành phố
form-ward-title = Phường, xã thuộc { $value }
form-address-why = Theo đơn vị hành chính mới (34 tỉnh, thành phố; không còn cấp huyện).
form-delivery-title = Bạn muốn nhận kết quả ở đâu?
delivery-counter = Nhận tại quầy
delivery-counter-detail = Đến Bộ phận một cửa theo ngày hẹn trên phiếu
delivery-post = Qua bưu điện
delivery-post-detail = Bưu điện gửi đến địa chỉ liên hệ của bạn (có thể mất phí)
delivery-vneid = Trên ứng dụng VNeID
delivery-vneid-detail = Bản điện tử gửi vào tài khoản định danh điện tử của bạn
form-reason-title = Hôm nay bạn đến khám vì sao?
form-reason-department = Khoa: { $value }
form-reason-optional = Không bắt buộc. Chọn một lý do nếu muốn, hoặc bấm Bỏ qua.
reason-fever = Sốt
reason-pain = Đau
reason-cough = Ho, khó thở
reason-checkup = Khám sức khỏe
reason-follow-up = Tái khám
review-chip-heading = Thông tin từ chip CCCD (đã xác thực, không sửa được)
review-yours-heading = Thông tin bạn nhập
review-components-heading = Thành phần hồ sơ
review-component-chip = Đã có từ chip CCCD, không cần nộp giấy
review-component-bring = Mang theo khi đến nhận kết quả
review-source-chip = Từ chip CCCD
review-source-you = Bạn nhập
review-name = Họ và tên
review-id = Số định danh cá nhân
review-dob = Ngày sinh
review-sex = Giới tính
review-residence = Nơi thường trú
review-origin = Quê quán
review-phone = Số điện thoại
review-address = Địa chỉ liên hệ
review-delivery = Nhận kết quả
review-reason = Lý do khám
review-reason-none = Không nêu
review-department = Khoa khám
review-insurance = Thẻ bảo hiểm y tế
review-insurance-value = Không cần thẻ giấy: bệnh viện tra theo số định danh

## Tra cứu hồ sơ (issue 14, hành trình 4)
attract-lookup = Tra cứu hồ sơ
lookup-title = Tra cứu hồ sơ
lookup-scan = Đưa mã QR trên phiếu hẹn trước camera
lookup-scan-hint = Giữ yên phiếu, cách camera phía trên màn hình khoảng 20 cm.
lookup-checking = Đang tra cứu…
lookup-code = Mã hồ sơ
lookup-procedure = Thủ tục
lookup-received = Ngày tiếp nhận
lookup-appointment = Ngày hẹn trả
lookup-state-received = Đã tiếp nhận, đang chuyển đến cơ quan giải quyết.
lookup-state-forwarded = Cơ quan đang giải quyết hồ sơ.
lookup-state-processing = Cán bộ đang xử lý hồ sơ.
lookup-state-ready = Đã có kết quả. Mời ông bà đến nhận kết quả.
lookup-state-ready-place = Đã có kết quả. Mời ông bà đến nhận tại { $value }.
lookup-collect-from = Nhận từ { $value }.
lookup-state-returned = Hồ sơ cần bổ sung giấy tờ.
lookup-state-done = Hồ sơ đã giải quyết xong và đã trả kết quả.
lookup-ask = Vui lòng hỏi tại quầy.
lookup-ask-desk = Vui lòng hỏi tại { $value }.
lookup-offline = Hiện không tra cứu được. Vui lòng thử lại sau hoặc hỏi tại quầy.
lookup-offline-desk = Hiện không tra cứu được. Vui lòng thử lại sau hoặc hỏi tại { $value }.
lookup-again = Tra cứu hồ sơ khác
notice-lookup-bad-qr = Mã QR này không phải của phiếu hẹn từ ki-ốt. Vui lòng đưa mã QR in trên phiếu hẹn.
say-lookup-scan = Đưa mã QR trên phiếu hẹn trước camera.
say-lookup-result = Đây là tình trạng hồ sơ của ông bà.

# Bàn phím trên màn hình (tiếng Việt: gõ Telex hoặc bấm phím dấu).
key-tone-sac = sắc
key-tone-huyen = huyền
key-tone-hoi = hỏi
key-tone-nga = ngã
key-tone-nang = nặng
key-shift = Chữ hoa
key-erase = Xoá
key-digits = Số và dấu câu
key-letters = Chữ cái
key-space = Dấu cách
key-done = Xong
form-street-title = Số nhà, tên đường (hoặc thôn, bản)
form-street-why = Không bắt buộc. Ở { $value }, có thể để trống nếu địa chỉ chỉ có tên phường, xã. Gõ dấu bằng các phím dấu hoặc kiểu Telex (aa = â, dd = đ, s = sắc).
form-street-placeholder = Ví dụ: 12 Lê Lợi
notice-street-invalid = Chỉ dùng chữ, số, dấu cách và , . / - (tối đa 80 ký tự).
review-street = Số nhà, tên đường
services-search = Tìm thủ tục
services-search-placeholder = Chạm để tìm, ví dụ: khai sinh
services-search-none = Không tìm thấy thủ tục nào. Hãy thử từ khác hoặc xoá bớt chữ.
lookup-type = Gõ mã hồ sơ
lookup-type-hint = Gõ mã hồ sơ và mã tra cứu in trên giấy biên nhận (máy vẫn đọc được mã QR).
lookup-typed-code = Mã tra cứu (8 ký tự)
lookup-check = Tra cứu
notice-lookup-typed-dossier-invalid = Mã hồ sơ chưa đúng. Hãy gõ đúng như trên giấy biên nhận, ví dụ 000.00.01.H29-260105-0001.
notice-lookup-typed-code-invalid = Mã tra cứu gồm 8 ký tự (chữ và số, không có chữ O, I, số 0, 1). Hãy kiểm tra lại.
review-street-none = (không ghi)
