# The technician screen (technician mode: the kiosk is not provisioned yet). The reader is a
# technician.
tech-title = Kiosk set-up
tech-kiosk = Kiosk { $value }
tech-kiosk-unknown = Kiosk id not known yet: provision.toml not read
tech-step-file = Read provision.toml
tech-step-enrol = Enrol with the gateway
tech-step-queue-key = Queue encryption key
tech-step-config = Write the kiosk configuration
tech-step-selftest = Device self-test
tech-step-enrolled = Enrolment complete
tech-waiting = This kiosk is not set up yet. Copy provision.toml onto the USB stick's FAT partition and reboot, or scan an enrolment QR code.
tech-running = Setting up…
tech-failed = Set-up stopped at step { $value }
tech-finished = Set-up complete. The kiosk is starting.
tech-scan = Scan enrolment QR code
tech-scan-stop = Stop scanning
tech-other-language = Tiếng Việt
tech-scan-looking = Hold the enrolment QR code (VNKIOSK1|E|…) in front of the camera.
tech-scan-wrong = This is not a kiosk enrolment QR code. Scan the code from the operator.
tech-scan-camera = The camera is not ready: check its cable.
tech-scan-timeout = No enrolment QR code seen in 60 seconds. Press “Scan enrolment QR code” to try again.
tech-scan-received = Enrolment QR code received: setting up.
tech-run-failed = Could not set up from the QR code: { $value }
tech-status-unreadable = Cannot read the set-up status file: { $value }
tech-busy = Another set-up run is under way; wait for it to end, then scan again.
