# Lus Hmoob (Hmong, White Hmong in the Romanized Popular Alphabet): a third language of the
# kiosk, for the provinces of the seeds (Lào Cai, Lai Châu) where Hmong is the largest
# minority language.
#
# MACHINE QUALITY: drafted by an AI assistant, NOT reviewed by a native speaker. Have it
# checked by a Hmong speaker (e.g. the provincial ethnic-affairs office) before it is offered
# to citizens. Same keys as locales/vi/kiosk.ftl; a missing key is shown in Vietnamese.
# espeak-ng has no Hmong voice: these prompts are shown, not spoken.
# The status lookup's keys (lookup-*, attract-lookup, notice-lookup-bad-qr, say-lookup-*) were
# translated later, the same way (machine, best effort, words taken from the rest of this
# file: daim ntawv thov, daim ntawv txais, lub txee pab): review them with the rest.
language-name = Lus Hmoob

## Common
btn-cancel = Tso tseg
btn-back = Rov qab
btn-confirm = Pom zoo thiab xa mus
btn-finish = Tiav lawm
btn-home = Rov qab mus pib
step-of = Kauj ruam { $value }
demo-badge = QAUV
timeout-warning = Lub vijtsam yuav rov qab mus pib hauv { $value } vib nas this.
timeout-continue = Kuv tseem nyob ntawm no

## Attract screen
attract-welcome = Zoo siab txais tos!
attract-headline-office = Kev ua ntaub ntawv nrog tsoomfwv
attract-headline-hospital = Sau npe mus kuaj mob
attract-touch = Kov kom pib
attract-hint = Npaj koj daim npav pov thawj tus kheej (CCCD) uas muaj chip
attract-privacy = Koj cov ntaub ntawv tsuas siv rau txoj haujlwm no xwb, thiab yuav raug rho tawm ntawm lub tshuab tom qab xa lawm.

## Language
lang-title = Xaiv koj hom lus
lang-hint = Kov hom lus koj xav siv

## Identify
identify-title = Muab koj daim npav CCCD tso rau saum lub tshuab nyeem
identify-qr = Los yog qhia tus QR code ntawm koj daim npav rau lub koob yees duab
identify-waiting = Tos koj daim npav…
identify-reading = Tab tom nyeem koj daim npav, thov tuav kom ruaj…
err-card-removed = Daim npav raug tshem tawm ntxov dhau. Thov muab tso dua.
err-card-unreadable = Nyeem tsis tau daim npav. Thov muab tso kom tiaj thiab tuav kom ruaj rau saum lub tshuab nyeem.
err-card-expired = Daim npav no tas sij hawm lawm. Thov mus nug ntawm lub txee pab.
demo-tap-card = Sim: kov daim npav
demo-show-qr = Sim: qhia QR code
demo-remove-card = Sim: tshem daim npav

## Consent
consent-title = Kuaj ntsej muag
consent-body = Lub tshuab yuav thaij koj daim duab ntsej muag los piv rau daim duab ntawm koj daim npav CCCD. Daim duab tsuas siv rau qhov kuaj no xwb thiab yuav raug rho tawm tam sim ntawd. Koj tsis kam los tau, thiab mus ua ntawm lub txee pab.
consent-accept = Kuv pom zoo
consent-decline = Kuv tsis pom zoo

## Face capture
face-title = Saib rau lub koob yees duab
face-look = Saib ncaj rau lub koob yees duab
face-closer = Los ze me ntsis
face-farther = Thim rov qab me ntsis
face-hold-still = Nyob twj ywm, tab tom thaij duab…
face-more-light = Tsaus me ntsis, thov tig ntsej muag rau qhov kaj
face-ok = Kuaj ntsej muag dhau lawm
face-one-person = Thov kom tsuas muaj ib tug neeg nyob ntawm lub koob yees duab xwb
face-straight = Saib ncaj thiab tuav taub hau kom ncaj
face-too-bright = Kaj dhau, thov tawm ntawm lub hnub ci
face-turn-left = Tig koj lub taub hau mus rau KOJ SAB LAUG
face-turn-right = Tig koj lub taub hau mus rau KOJ SAB XIS
face-look-straight = Tam sim no saib ncaj rau lub koob yees duab dua

## Services
services-title-office = Xaiv ib txoj haujlwm
services-title-hospital = Xaiv ib chav kuaj mob
services-essential = Kev pab tseem ceeb

## Confirm
confirm-title = Kuaj xyuas koj cov ntaub ntawv
confirm-name = Npe tag nrho
confirm-id = Tus lej pov thawj tus kheej
confirm-dob = Hnub yug
confirm-service-office = Txoj haujlwm
confirm-service-hospital = Chav kuaj mob

## Submitting
submitting-title = Tab tom xa koj daim ntawv thov…
submitting-wait = Thov tos me ntsis.

## Receipt
receipt-title = Tiav lawm
receipt-code = Tus lej ntawv thov
receipt-appointment = Hnub teem caij
receipt-queue = Tus lej tos
receipt-lookup = Tus lej tshawb xyuas
receipt-take = Thov nqa koj daim ntawv luam tawm hauv qab lub vijtsam.
receipt-offline = Network tsis ua haujlwm. Koj daim ntawv thov raug khaws cia lawm thiab yuav xa mus thaum network rov los.

## Notice
notice-return = Lub vijtsam yuav rov qab mus pib nws tus kheej.
notice-face-failed = Kuaj tsis tau koj lub ntsej muag. Thov mus nug ntawm lub txee pab.
notice-timeout = Txoj haujlwm xaus lawm vim tsis muaj dab tsi ua.
notice-cancelled = Tso tseg lawm. Koj cov ntaub ntawv raug rho tawm ntawm lub tshuab lawm.
notice-out-of-service = Lub tshuab no tam sim no tsis ua haujlwm. Thov txim.

## Notices the session shows (key = notice- + the session's message key)
btn-retry = Sim dua
notice-card-removed = Daim npav raug tshem tawm lawm. Koj cov ntaub ntawv raug rho tawm ntawm lub tshuab no lawm.
notice-card-removed-during-read = Daim npav raug tshem tawm ntxov dhau. Thov muab tso dua thiab tuav kom ruaj.
notice-card-unreadable = Nyeem tsis tau daim npav. Thov muab tso kom tiaj thiab ruaj rau saum lub tshuab nyeem thiab sim dua. Yog tseem tsis tau, thov mus nug ntawm lub txee pab.
notice-qr-not-card = Qhov no tsis yog QR code ntawm daim npav CCCD. Thov qhia tus QR code luam rau ntawm koj daim npav, los yog muab daim npav tso rau saum lub tshuab nyeem.
notice-card-not-authentic = Kuaj tsis tau tias daim npav yog tiag. Thov mus nug ntawm lub txee pab.
notice-reader-unavailable = Lub tshuab nyeem npav tsis tau npaj txhij. Thov mus nug ntawm lub txee pab.
notice-consent-declined = Koj tsis pom zoo rau kev kuaj ntsej muag. Thov mus nug ntawm lub txee pab.
notice-face-not-matched = Koj lub ntsej muag tseem tsis zoo ib yam li daim duab ntawm daim npav. Thov saib ncaj rau lub koob yees duab thiab sim dua.
notice-face-not-live = Peb paub tsis tau tias yog ib tug neeg tiag. Thov ua raws li cov lus qhia thiab sim dua.
notice-face-rejected = Kuaj tsis tau koj lub ntsej muag. Thov mus nug ntawm lub txee pab.
notice-submit-rejected = Koj daim ntawv thov tsis raug txais. Thov mus nug ntawm lub txee pab.
notice-submit-failed = Xa tsis tau koj daim ntawv thov. Tsis muaj dab tsi ploj; thov mus nug ntawm lub txee pab.
notice-submit-pending = Koj daim ntawv thov raug khaws cia thiab yuav xa mus. Cov neeg ua haujlwm yuav pab koj tau daim ntawv txais.
notice-printer-failed = Luam tsis tau daim ntawv txais. Koj daim ntawv thov tau txais lawm. Thov sau tus lej ntawm lub vijtsam thiab nug cov neeg ua haujlwm kom muab daim ntawv txais rau koj.

## Spoken prompts (key = say- + the session's message key), read aloud by the speech engine
say-choose-language = Thov xaiv koj hom lus.
say-identify-prompt = Thov muab koj daim npav tso rau saum lub tshuab nyeem.
say-consent-prompt = Thov nyeem thiab pom zoo rau kev kuaj ntsej muag.
say-face-prompt = Thov saib ncaj rau lub koob yees duab.
say-choose-service = Thov xaiv ib txoj haujlwm.
say-confirm-prompt = Thov kuaj xyuas koj cov ntaub ntawv thiab pom zoo.
say-submitting = Tab tom xa koj daim ntawv thov, thov tos.
say-receipt-ready = Koj daim ntawv thov tau txais lawm. Thov nqa koj daim ntawv txais.
say-still-there = Koj puas tseem nyob ntawm no? Kov lub vijtsam kom mus ntxiv.

## Printed receipt
service-code = Tus lej txoj haujlwm { $value }
department-code = Tus lej chav { $value }
print-title-receipt = DAIM NTAWV TXAIS NTAWV THOV THIAB TEEM CAIJ
print-title-ticket = DAIM PIB TOS KUAJ MOB
print-dossier-code = Tus lej ntawv thov
print-procedure = Txoj haujlwm
print-department = Chav kuaj mob
print-applicant = Tus thov
print-received = Txais thaum
print-appointment = Muaj txiaj ntsig hnub
print-lookup-code = Tus lej tshawb xyuas
print-footer-lookup = Tshawb xyuas koj daim ntawv thov nrog tus QR code no
print-registration-code = Tus lej sau npe
print-footer-ticket = Thov tos kom hu koj ntawm chav kuaj mob.
print-footer-staff = Yog xav paub txog koj daim ntawv thov, nug cov neeg txais tos nrog tus lej no.

## Identify: ID number and chip read (issue 3). Own block: new keys only here.
id-title = Ntaus koj tus lej pov thawj tus kheej
id-entry-label = Tus lej pov thawj tus kheej:
keypad-erase = Rho tawm
keypad-ok = Tiav
place-card-title = Tam sim no muab koj daim npav tso rau saum lub tshuab nyeem
notice-id-needed-first = Koj daim npav nyob saum lub tshuab nyeem lawm: cia nws nyob ntawd. Tam sim no ntaus koj tus lej pov thawj tus kheej thiab nias Tiav.
notice-id-incomplete = Tus lej pov thawj tus kheej muaj 12 tus lej.
notice-wrong-id = Tus lej { $value } qhib tsis tau daim npav saum lub tshuab nyeem. Kuaj tus lej dua, los yog saib seb puas yog koj daim npav.
say-id-prompt = Thov ntaus tus lej pov thawj tus kheej 12 tus uas luam rau sab xub ntiag ntawm koj daim npav, los yog qhia tus QR code ntawm koj daim npav rau lub koob yees duab.
say-place-card = Tam sim no muab koj daim npav tso rau saum lub tshuab nyeem thiab tuav kom ruaj.
say-id-needed-first = Koj daim npav nyob saum lub tshuab nyeem lawm: cia nws nyob ntawd. Tam sim no ntaus koj tus lej thiab nias Tiav.
say-id-incomplete = Tus lej pov thawj tus kheej muaj 12 tus lej.
say-wrong-id = Tus lej koj ntaus qhib tsis tau daim npav saum lub tshuab nyeem. Thov kuaj tus lej dua, los yog saib seb puas yog koj daim npav.
id-why = Tus lej no qhib lub chip hauv koj daim npav. Nws nyob sab xub ntiag, cim xim daj ntawm no:
id-where-cccd = Daim npav pov thawj tus kheej (CCCD)
id-where-cancuoc = Daim npav pov thawj (Căn cước tshiab)

## Session safety and supervised devices (issue 11). Own block: new keys only here.
notice-card-too-slow = Daim npav teb qeeb dhau. Thov tsa nws thiab muab tso kom tiaj rau saum lub tshuab nyeem dua, los yog mus nug ntawm lub txee pab.
notice-read-try-again = Zaum no lub tshuab nyeem tsis tau daim npav. Thov tsa daim npav thiab muab tso dua.
notice-face-try-again = Zaum no lub tshuab kuaj tsis tau koj lub ntsej muag. Thov nias Sim dua.
say-card-too-slow = Daim npav teb qeeb dhau. Thov tsa nws thiab muab tso kom tiaj dua, los yog nug cov neeg ua haujlwm.
say-read-try-again = Nyeem tsis tau daim npav. Thov tsa nws thiab muab tso dua.
say-face-try-again = Kuaj tsis tau koj lub ntsej muag. Thov nias Sim dua.
notice-card-check-unavailable = Tam sim no lub tshuab no kuaj tsis tau daim npav. Thov nug cov neeg ua haujlwm ntawm lub txee pab.
say-card-check-unavailable = Tam sim no lub tshuab no kuaj tsis tau daim npav. Thov nug cov neeg ua haujlwm.
say-printer-failed = Luam tsis tau daim ntawv txais. Thov sau tus lej thiab nug cov neeg ua haujlwm.

## Out of service (a device is missing: the kiosk starts anyway and waits for it)
out-of-service-title = Lub tshuab no tsis ua haujlwm
out-of-service-body = Thov mus rau ntawm lub txee pab; cov neeg ua haujlwm yuav pab koj. Lub tshuab yuav rov pib nws tus kheej thaum nws cov khoom npaj txhij.
# For staff: which devices to check; $value lists them with a reason code.
out-of-service-staff = Cov khoom yuav tsum kuaj: { $value }
device-card-reader = Lub tshuab nyeem npav
device-camera = Lub koob yees duab
device-printer = Lub tshuab luam ntawv
# For staff, on the start screen: the kiosk still serves.
staff-paper-near-end = Ntawv luam yuav tas lawm: thov cov neeg ua haujlwm hloov ib dov tshiab.

## The camera in the kiosk (issue 12). Own block: new keys only here.
notice-camera-unavailable = Tam sim no lub koob yees duab tsis ua haujlwm. Thov tos me ntsis thiab nias Sim dua, los yog mus nug ntawm lub txee pab.
notice-camera-unusable = Lub koob yees duab teeb tsa tsis raug. Thov mus nug ntawm lub txee pab.
say-camera-unavailable = Tam sim no lub koob yees duab tsis ua haujlwm. Thov tos me ntsis thiab nias Sim dua.
say-camera-unusable = Lub koob yees duab teeb tsa tsis raug. Thov mus nug ntawm lub txee pab.

## Help, calling staff, assisted mode, display (issue 14). Own block: new keys only here.
btn-help = Pab
btn-large-text = Ntawv loj
btn-high-contrast = Xim tsaus ntxiv
help-title = Koj puas xav tau kev pab?
help-body = Cov neeg ua haujlwm ntawm no npaj txhij pab koj. Nias "Hu neeg ua haujlwm" thiab tos ntawm lub tshuab, los yog hu xov tooj pab.
help-hotline = Xov tooj pab: { $value }
help-desk = Cov neeg ua haujlwm nyob: { $value }
help-call-staff = Hu neeg ua haujlwm
help-staff-called = Hu cov neeg ua haujlwm lawm. Thov tos ntawm no, yuav muaj neeg los.
help-cancel-call = Tsis hu lawm
help-close = Kaw
help-volunteer = Rau cov neeg pab dawb
pin-title = Tus neeg pab dawb: ntaus tus PIN kom qhib kev pab
pin-wrong = Tus PIN tsis raug.
pin-locked = Ntaus yuam kev ntau zaus dhau. Thov tos ib feeb.
assisted-badge = Kev pab: muaj ib tug neeg pab dawb pab
assisted-end = Xaus kev pab
say-help = Nov yog kev pab. Nias Hu neeg ua haujlwm yog koj xav tau neeg pab.
say-staff-called = Hu cov neeg ua haujlwm lawm. Thov tos ntawm no.

## The dossier and hospital journeys, and the printed form 01 (issue 14, issue 12).
## Machine quality like the rest of this file. The national title and motto of the printed
## form stay in Vietnamese: they head an official document.
btn-change = Hloov
btn-next = Mus ntxiv
btn-skip = Hla mus
btn-submit = Xa daim ntawv
delivery-counter = Txais ntawm lub rooj
delivery-counter-detail = Tuaj ntawm chaw ua haujlwm raws li hnub sau rau hauv daim ntawv
delivery-post = Xa los ntawm tsev xa ntawv
delivery-post-detail = Tsev xa ntawv nqa mus rau koj qhov chaw nyob (tej zaum yuav them nqi)
delivery-vneid = Hauv VNeID
delivery-vneid-detail = Ib daim ntawv hluav taws xob xa rau koj tus account VNeID
field-all = Txhua yam
field-civil-status = Hộ tịch
field-id-card = Căn cước
field-justice = Tư pháp
field-residence = Cư trú
form-address-why = Raws li cov cheeb tsam tshiab (34 lub xeev thiab nroog; tsis muaj huyện lawm).
form-delivery-title = Koj xav txais qhov tshwm sim qhov twg?
form-phone-title = Koj tus xov tooj ntawm tes
form-phone-why = Rau cov lus xov xwm txog koj daim ntawv. 10 tus lej, pib nrog 0.
form-province-title = Chaw nyob sib cuag: xeev los yog nroog
form-reason-department = Chav kho mob: { $value }
form-reason-optional = Tsis yuav tsum. Xaiv ib qho laj thawj yog koj xav, los sis nias Hla mus.
form-reason-title = Hnub no koj tuaj vim li cas?
form-ward-title = Phường los yog xã hauv { $value }
notice-choose-delivery = Thov xaiv seb koj yuav txais qhov tshwm sim li cas.
notice-choose-province = Thov xaiv ib lub xeev los yog nroog.
notice-choose-ward = Thov xaiv ib lub phường los yog xã.
notice-phone-invalid = Tus xov tooj no tsis raug. Xov tooj ntawm tes muaj 10 tus lej thiab pib nrog 03, 05, 07, 08 los yog 09.
print-id-number = Tus lej pov thawj tus kheej
print-motto = Độc lập - Tự do - Hạnh phúc
print-nation = CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
print-place = Txais qhov tshwm sim ntawm
print-weekday-monday = Hnub Ib
print-weekday-tuesday = Hnub Ob
print-weekday-wednesday = Hnub Peb
print-weekday-thursday = Hnub Plaub
print-weekday-friday = Hnub Tsib
print-weekday-saturday = Hnub Rau
print-weekday-sunday = Hnub Xya
reason-checkup = Kuaj kev noj qab haus huv
reason-cough = Hnoos, ua pa nyuaj
reason-fever = Ua npaws
reason-follow-up = Rov tuaj kuaj dua
reason-pain = Mob
review-address = Chaw nyob sib cuag
review-chip-heading = Los ntawm lub chip ntawm daim npav (tau kuaj lawm, hloov tsis tau)
review-component-bring = Nqa tuaj thaum koj tuaj txais qhov tshwm sim
review-component-chip = Muab los ntawm lub chip: tsis tas siv ntawv
review-components-heading = Cov ntaub ntawv hauv daim ntawv thov
review-delivery = Txais qhov tshwm sim
review-department = Chav kho mob
review-dob = Hnub yug
review-id = Tus lej pov thawj tus kheej
review-insurance = Daim npav pov hwm kev kho mob
review-insurance-value = Tsis tas siv daim npav ntawv: tsev kho mob nrhiav raws li koj tus lej pov thawj tus kheej
review-name = Npe
review-origin = Qhov chaw yug los
review-phone = Xov tooj
review-reason = Vim li cas tuaj kuaj
review-reason-none = Tsis tau hais
review-residence = Chaw nyob tas mus li
review-sex = Poj niam los yog txiv neej
review-source-chip = Los ntawm lub chip
review-source-you = Koj sau
review-yours-heading = Yam koj sau
say-choose-delivery = Thov xaiv seb koj yuav txais qhov tshwm sim li cas.
say-choose-province = Thov xaiv ib lub xeev los yog nroog.
say-choose-ward = Thov xaiv ib lub phường los yog xã.
say-phone-invalid = Tus xov tooj no tsis raug. Thov kuaj dua.
scroll-more = Rub mus hauv qab kom pom ntxiv
## Status lookup (issue 14, journey 4): machine quality, best effort (see the header)
attract-lookup = Saib daim ntawv thov
lookup-title = Saib daim ntawv thov
lookup-scan = Qhia tus QR code ntawm koj daim ntawv txais rau lub koob yees duab
lookup-scan-hint = Tuav daim ntawv txais kom ruaj, kwv yees li 20 cm ntawm lub koob yees duab saum lub vijtsam.
lookup-checking = Tab tom saib…
lookup-code = Tus lej ntawv thov
lookup-procedure = Txoj haujlwm
lookup-received = Hnub txais
lookup-appointment = Hnub teem caij
lookup-state-received = Txais lawm: tab tom xa mus rau lub chaw ua haujlwm.
lookup-state-forwarded = Lub chaw ua haujlwm tab tom ua koj daim ntawv thov.
lookup-state-processing = Ib tug neeg ua haujlwm tab tom ua koj daim ntawv.
lookup-state-ready = Cov txiaj ntsig npaj txhij lawm. Thov tuaj txais.
lookup-state-ready-place = Cov txiaj ntsig npaj txhij lawm. Thov mus txais ntawm { $value }.
lookup-collect-from = Pib txij { $value }.
lookup-state-returned = Yuav tsum muaj ntaub ntawv ntxiv.
lookup-state-done = Tiav lawm: cov txiaj ntsig tau muab rau koj lawm.
lookup-ask = Thov mus nug ntawm lub txee pab.
lookup-ask-desk = Thov mus nug ntawm { $value }.
lookup-offline = Tam sim no saib tsis tau. Thov sim dua tom qab los yog mus nug ntawm lub txee pab.
lookup-offline-desk = Tam sim no saib tsis tau. Thov sim dua tom qab los yog mus nug ntawm { $value }.
lookup-again = Saib lwm daim
notice-lookup-bad-qr = Tus QR code no tsis yog los ntawm daim ntawv txais ntawm lub tshuab no. Thov qhia tus QR code luam rau ntawm koj daim ntawv txais.
say-lookup-scan = Qhia tus QR code ntawm koj daim ntawv txais rau lub koob yees duab.
say-lookup-result = Nov yog qhov koj daim ntawv thov nyob.

# The on-screen keyboard (machine quality, see the header). The tone names are Vietnamese.
key-tone-sac = sắc
key-tone-huyen = huyền
key-tone-hoi = hỏi
key-tone-nga = ngã
key-tone-nang = nặng
key-shift = Tus ntawv loj
key-erase = Lwv
key-digits = Tus lej thiab cim
key-letters = Tus ntawv
key-space = Qhov chaw
key-done = Tiav lawm
form-street-title = Tus lej tsev thiab txoj kev (los yog lub zos)
form-street-why = Tsis yuam. Hauv { $value } koj tso tau khoob yog koj chaw nyob tsuas muaj lub phường los yog xã xwb. Cov cim suab: cov nyees cim, los yog Telex (aa = â, dd = đ, s = sắc).
form-street-placeholder = Piv txwv: 12 Lê Lợi
notice-street-invalid = Siv tsuas yog tus ntawv, tus lej, qhov chaw thiab , . / - (tsis pub tshaj 80 tus).
review-street = Tus lej tsev thiab txoj kev
services-search = Nrhiav txoj haujlwm
services-search-placeholder = Kov los nrhiav, piv txwv: khai sinh
services-search-none = Nrhiav tsis tau. Sim lwm lo lus los yog lwv qee tus ntawv.
lookup-type = Ntaus tus lej
lookup-type-hint = Ntaus tus lej ntaub ntawv thiab tus lej nrhiav uas luam rau ntawm koj daim ntawv txais (lub koob yees duab tseem nyeem tau QR).
lookup-typed-code = Tus lej nrhiav (8 tus)
lookup-check = Nrhiav
notice-lookup-typed-dossier-invalid = Tus lej ntaub ntawv no tsis raug. Ntaus kom zoo li ntawm daim ntawv txais, piv txwv 000.00.01.H29-260105-0001.
notice-lookup-typed-code-invalid = Tus lej nrhiav muaj 8 tus (tus ntawv thiab tus lej, tsis muaj O, I, 0 los yog 1). Thov kuaj dua.
review-street-none = (tsis tau sau)
