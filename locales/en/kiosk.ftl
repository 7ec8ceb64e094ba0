# English: second language of the kiosk. Keep the same keys as locales/vi/kiosk.ftl.
language-name = English

## Common
btn-cancel = Cancel
btn-back = Back
btn-confirm = Confirm and send
btn-finish = Finish
btn-home = Back to start
step-of = Step { $value }
demo-badge = DEMO
timeout-warning = The screen will return to the start in { $value } seconds.
timeout-continue = I am still here

## Attract screen
attract-welcome = Welcome!
attract-headline-office = Administrative procedures
attract-headline-hospital = Register for a medical visit
attract-touch = Touch to start
attract-hint = Have your chip-based citizen ID card (CCCD) ready
attract-privacy = Your information is used only for this procedure and is erased from the kiosk after sending.

## Language
lang-title = Choose your language
lang-hint = Touch the language you want to use

## Identify
identify-title = Place your CCCD card on the reader
identify-qr = Or show the QR code on your card to the camera
identify-waiting = Waiting for your card…
identify-reading = Reading your card, please keep it still…
err-card-removed = The card was removed too soon. Please place it again.
err-card-unreadable = The card could not be read. Please hold it flat and still on the reader.
err-card-expired = This card has expired. Please go to the counter for help.
demo-tap-card = Simulate: tap card
demo-show-qr = Simulate: show QR code
demo-remove-card = Simulate: remove card

## Consent
consent-title = Face check
consent-body = The kiosk will take a photo of your face to compare it with the photo on your CCCD card. The photo is used only for this check and is erased right after. You may decline and do the procedure at the counter.
consent-accept = I agree
consent-decline = I do not agree

## Face capture
face-title = Look at the camera
face-look = Look straight at the camera
face-closer = Come a little closer
face-farther = Step back a little
face-hold-still = Hold still, taking the photo…
face-more-light = It is a bit dark, please face the light
face-ok = Face check passed
face-one-person = Only one person in front of the camera, please
face-straight = Look straight ahead and keep your head level
face-too-bright = Too bright here, please step out of the sunlight
face-turn-left = Turn your head to YOUR LEFT
face-turn-right = Turn your head to YOUR RIGHT
face-look-straight = Now look straight at the camera again

## Services
services-title-office = Choose a procedure
services-title-hospital = Choose a department
services-essential = Essential service

## Confirm
confirm-title = Check your details
confirm-name = Full name
confirm-id = Personal ID number
confirm-dob = Date of birth
confirm-service-office = Procedure
confirm-service-hospital = Department

## Submitting
submitting-title = Sending your application…
submitting-wait = Please wait a moment.

## Receipt
receipt-title = All done
receipt-code = Application code
receipt-appointment = Appointment
receipt-queue = Queue number
receipt-lookup = Lookup code
receipt-take = Please take your printed slip below the screen.
receipt-offline = The network is down. Your application is saved and will be sent automatically when the network is back.

## Notice
notice-return = The screen will return to the start by itself.
notice-face-failed = Your face could not be checked. Please go to the counter for help.
notice-timeout = The session ended because there was no activity.
notice-cancelled = Cancelled. Your information has been erased from the kiosk.
notice-out-of-service = This kiosk is out of service for now. Sorry for the inconvenience.

## Notices the session shows (key = notice- + the session's message key)
btn-retry = Try again
notice-card-removed = The card was removed. Your information has been erased from this kiosk.
notice-card-removed-during-read = The card was removed too early. Please place it again and hold it still.
notice-card-unreadable = The card could not be read. Please hold it flat and still on the reader and try again. If it still fails, please ask at the counter.
notice-qr-not-card = This is not the QR code of a CCCD card. Please show the QR code printed on your card, or place the card on the reader.
notice-card-not-authentic = The card could not be verified. Please ask at the counter for help.
notice-reader-unavailable = The card reader is not ready. Please ask at the counter for help.
notice-consent-declined = You did not agree to the face check. Please ask at the counter for help.
notice-face-not-matched = Your face did not match the photo on the card yet. Please look straight at the camera and try again.
notice-face-not-live = We could not confirm a live person. Please follow the instructions and try again.
notice-face-rejected = Your face could not be verified. Please ask at the counter for help.
notice-submit-rejected = Your application was not accepted. Please ask at the counter for help.
notice-submit-failed = Your application could not be sent. Nothing is lost; please ask at the counter for help.
notice-submit-pending = Your application was saved and will be sent. Staff will help you get your receipt.
notice-printer-failed = The receipt could not be printed. Your application has been received. Please write down the code on the screen and ask staff for your receipt.

## Spoken prompts (key = say- + the session's message key), read aloud by the speech engine
say-choose-language = Please choose your language.
say-identify-prompt = Please place your ID card on the reader.
say-consent-prompt = Please read and agree to the face check.
say-face-prompt = Please look straight at the camera.
say-choose-service = Please choose a service.
say-confirm-prompt = Please check your details and confirm.
say-submitting = Sending your application, please wait.
say-receipt-ready = Your application was received. Please take your receipt.
say-still-there = Are you still there? Touch the screen to continue.

## Printed receipt
service-code = Procedure code { $value }
department-code = Department code { $value }
print-title-receipt = RECEIPT OF APPLICATION AND APPOINTMENT
print-title-ticket = EXAMINATION QUEUE TICKET
print-dossier-code = Application code
print-procedure = Procedure
print-department = Department
print-applicant = Applicant
print-received = Received at
print-appointment = Result available on
print-lookup-code = Lookup code
print-footer-lookup = Check your application's status with this QR code
print-registration-code = Registration code
print-footer-ticket = Please wait to be called at the department.
print-footer-staff = To check on your application, ask the reception staff with this code.
print-nation = SOCIALIST REPUBLIC OF VIET NAM
print-motto = Independence - Freedom - Happiness
print-id-number = Personal ID number
print-place = Collect the result at
print-weekday-monday = Monday
print-weekday-tuesday = Tuesday
print-weekday-wednesday = Wednesday
print-weekday-thursday = Thursday
print-weekday-friday = Friday
print-weekday-saturday = Saturday
print-weekday-sunday = Sunday

## Identify: ID number and chip read (issue 3). Own block: new keys only here.
id-title = Enter your personal ID number
id-entry-label = Personal ID number:
keypad-erase = Delete
keypad-ok = Done
place-card-title = Now place your ID card on the reader
notice-id-needed-first = Your card is on the reader: leave it there. Now type your personal ID number and press Done.
notice-id-incomplete = The personal ID number has 12 digits.
notice-wrong-id = The number { $value } does not open the card on the reader. Check the number, or whether this is your card.
say-id-prompt = Please enter the 12-digit personal ID number printed on the front of your card, or show the QR code on your card to the camera.
say-place-card = Now place your ID card on the reader and hold it still.
say-id-needed-first = Your card is on the reader: leave it there. Now type your personal ID number and press Done.
say-id-incomplete = The personal ID number has 12 digits.
say-wrong-id = The number you typed does not open the card on the reader. Please check the number, or whether this is your card.
id-why = This number unlocks the chip in your card. It is on the front, marked yellow here:
id-where-cccd = Citizen identity card (CCCD)
id-where-cancuoc = Identity card (new Căn cước)

## Session safety and supervised devices (issue 11). Own block: new keys only here.
notice-card-too-slow = The card took too long to answer. Please lift it and place it flat on the reader again, or ask at the counter.
notice-read-try-again = The kiosk could not read the card this time. Please lift the card and place it again to try again.
notice-face-try-again = The kiosk could not check your face this time. Please press Try again.
say-card-too-slow = The card took too long to answer. Please lift it and place it flat on the reader again, or ask staff.
say-read-try-again = The card could not be read. Please lift it and place it again.
say-face-try-again = Your face could not be checked. Please press Try again.
notice-card-check-unavailable = This kiosk cannot check ID cards right now. Please ask staff at the counter for help.
say-card-check-unavailable = This kiosk cannot check ID cards right now. Please ask staff.
say-printer-failed = The receipt could not be printed. Please write down the code and ask staff.

## Out of service (a device is missing: the kiosk starts anyway and waits for it)
out-of-service-title = This kiosk is out of service
out-of-service-body = Please go to the service counter; staff will help you. The kiosk starts again by itself when its devices are ready.
# For staff: which devices to check; $value lists them with a reason code.
out-of-service-staff = Devices to check: { $value }
device-card-reader = Card reader
device-camera = Camera
device-printer = Printer
# For staff, on the start screen: the kiosk still serves.
staff-paper-near-end = Printer paper nearly used up: staff, please replace the roll.

## The camera in the kiosk (issue 12). Own block: new keys only here.
notice-camera-unavailable = The camera is not working right now. Please wait a moment and press Try again, or ask at the counter for help.
notice-camera-unusable = The camera is not set up correctly. Please ask at the counter for help.
say-camera-unavailable = The camera is not working right now. Please wait a moment and press Try again.
say-camera-unusable = The camera is not set up correctly. Please ask at the counter for help.

## Help, calling staff, assisted mode, display (issue 14). Own block: new keys only here.
btn-help = Help
btn-large-text = Large text
btn-high-contrast = High contrast
help-title = Do you need help?
help-body = Staff here are ready to help you. Press "Call staff" and wait at the kiosk, or call the hotline.
help-hotline = Hotline: { $value }
help-desk = Staff are at: { $value }
help-call-staff = Call staff
help-staff-called = Staff have been called. Please wait here, someone is coming.
help-cancel-call = Cancel the call
help-close = Close
help-volunteer = For volunteers
pin-title = Volunteer: enter the PIN to turn on assisted mode
pin-wrong = Wrong PIN.
pin-locked = Too many wrong tries. Please wait a minute.
assisted-badge = Assisted mode: a volunteer is helping
assisted-end = End assisted mode
say-help = This is help. Press Call staff if you need someone to help you.
say-staff-called = Staff have been called. Please wait here.
## The dossier and hospital journeys (issue 14). Own block: new keys only here.
field-all = All
field-residence = Residence
field-civil-status = Civil status
field-justice = Justice
field-id-card = ID card
scroll-more = Scroll down for more
btn-next = Next
btn-skip = Skip
btn-change = Change
btn-submit = Submit
form-phone-title = Your mobile phone number
form-phone-why = For text messages about your application. 10 digits, starting with 0.
notice-phone-invalid = This phone number is not right. A mobile number has 10 digits and starts with 03, 05, 07, 08 or 09.
say-phone-invalid = This phone number is not right. Please check it.
notice-choose-province = Please choose a province or city.
say-choose-province = Please choose a province or city.
notice-choose-ward = Please choose a ward or commune.
say-choose-ward = Please choose a ward or commune.
notice-choose-delivery = Please choose how to receive the result.
say-choose-delivery = Please choose how to receive the result.
form-province-title = Contact address: province or city
form-ward-title = Ward or commune in { $value }
form-address-why = Under the new administrative units (34 provinces and cities; no more districts).
form-delivery-title = Where would you like to receive the result?
delivery-counter = At the counter
delivery-counter-detail = Come to the one-stop office on the date on your receipt
delivery-post = By post
delivery-post-detail = The post office brings it to your contact address (a fee may apply)
delivery-vneid = In the VNeID app
delivery-vneid-detail = An electronic copy sent to your VNeID account
form-reason-title = Why are you here today?
form-reason-department = Department: { $value }
form-reason-optional = Optional. Choose a reason if you like, or tap Skip.
reason-fever = Fever
reason-pain = Pain
reason-cough = Cough, short of breath
reason-checkup = Health check
reason-follow-up = Follow-up visit
review-chip-heading = From the chip ID card (verified, cannot be changed)
review-yours-heading = What you entered
review-components-heading = Documents in the application
review-component-chip = Taken from the chip card: no paper needed
review-component-bring = Bring it when you collect the result
review-source-chip = From the chip
review-source-you = You entered
review-name = Full name
review-id = Personal ID number
review-dob = Date of birth
review-sex = Sex
review-residence = Permanent residence
review-origin = Place of origin
review-phone = Phone number
review-address = Contact address
review-delivery = Receive the result
review-reason = Reason for the visit
review-reason-none = Not given
review-department = Department
review-insurance = Health insurance card
review-insurance-value = No paper card needed: the hospital looks it up by your ID number

## Status lookup (issue 14, journey 4)
attract-lookup = Check a dossier
lookup-title = Check a dossier
lookup-scan = Show the QR code on your receipt to the camera
lookup-scan-hint = Hold the receipt still, about 20 cm in front of the camera above the screen.
lookup-checking = Checking…
lookup-code = Application code
lookup-procedure = Procedure
lookup-received = Received on
lookup-appointment = Appointment
lookup-state-received = Received: it is being sent to the office.
lookup-state-forwarded = The office is processing it.
lookup-state-processing = An officer is working on it.
lookup-state-ready = The result is ready. Please come and collect it.
lookup-state-ready-place = The result is ready. Please collect it at { $value }.
lookup-collect-from = From { $value }.
lookup-state-returned = Additional documents are needed.
lookup-state-done = Done: the result has been handed over.
lookup-ask = Please ask at the counter.
lookup-ask-desk = Please ask at { $value }.
lookup-offline = We cannot check right now. Please try later or ask at the counter.
lookup-offline-desk = We cannot check right now. Please try later or ask at { $value }.
lookup-again = Check another
notice-lookup-bad-qr = This QR code is not from a kiosk receipt. Please show the QR code printed on your receipt.
say-lookup-scan = Show the QR code on your receipt to the camera.
say-lookup-result = Here is where your application stands.

# The on-screen keyboard (Vietnamese: Telex or the tone keys). The tone names are Vietnamese.
key-tone-sac = sắc
key-tone-huyen = huyền
key-tone-hoi = hỏi
key-tone-nga = ngã
key-tone-nang = nặng
key-shift = Capital letter
key-erase = Erase
key-digits = Digits and punctuation
key-letters = Letters
key-space = Space
key-done = Done
form-street-title = House number and street (or hamlet)
form-street-why = Optional. In { $value } you may leave it empty if your address is only the ward or commune. Tone marks: the tone keys, or Telex (aa = â, dd = đ, s = sắc).
form-street-placeholder = For example: 12 Lê Lợi
notice-street-invalid = Use only letters, digits, spaces and , . / - (at most 80 characters).
review-street = House number and street
services-search = Search procedures
services-search-placeholder = Tap to search, e.g. birth
services-search-none = No procedure found. Try another word or erase some letters.
lookup-type = Type the code
lookup-type-hint = Type the dossier code and the lookup code printed on your receipt (the camera still reads its QR code).
lookup-typed-code = Lookup code (8 characters)
lookup-check = Check
notice-lookup-typed-dossier-invalid = This dossier code is not right. Type it exactly as on the receipt, e.g. 000.00.01.H29-260105-0001.
notice-lookup-typed-code-invalid = A lookup code has 8 characters (letters and digits, no O, I, 0 or 1). Please check it.
review-street-none = (not given)
