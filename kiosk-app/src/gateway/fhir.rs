//! Clinic registrations as FHIR R4 transaction bundles (VN Core IG identifiers).
//!
//! One bundle per registration: the Patient, created only if no Patient has the citizen's
//! national-ID identifier (`ifNoneExist`), and an `arrived` ambulatory Encounter identified by
//! the submission id, created only if none has it. Replaying the same bundle (a retry after a
//! lost answer) therefore creates nothing: the server answers 200 with the existing ones.
//! The bytes are a pure function of the request, so every retry is byte-identical.

use kiosk_outbox::Uuid;
use serde_json::{json, Value};

use super::dto::SubmissionRequest;

/// The VN Core IG's national-ID identifier system.
pub const NATIONAL_ID_SYSTEM: &str = "http://fhir.ehealth.gov.vn/core/sid/national_id";
/// Identifier system of the kiosk's submission ids (RFC 3986 URIs: `urn:uuid:<id>`).
pub const SUBMISSION_ID_SYSTEM: &str = "urn:ietf:rfc:3986";

/// The transaction bundle for a clinic registration; `None` if `request.reference_uid` is not
/// the submission's UUID (the outbox id).
#[must_use]
pub fn registration_bundle(request: &SubmissionRequest) -> Option<Value> {
    let id = Uuid::parse_str(&request.reference_uid).ok()?;
    // Bundle-local ids, derived from the submission id so that replays are identical.
    let patient_ref = format!("urn:uuid:{}", Uuid::from_u128(id.as_u128() ^ 1));
    let encounter_ref = format!("urn:uuid:{id}");
    let national_id = request.id_number.expose();
    let dob = request.date_of_birth.expose();
    // dd/mm/yyyy (validated by `SubmissionRequest::validate`) to FHIR's yyyy-mm-dd.
    let birth_date = match (dob.get(6..10), dob.get(3..5), dob.get(0..2)) {
        (Some(y), Some(m), Some(d)) => Some(format!("{y}-{m}-{d}")),
        _ => None,
    };
    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": [{
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                "code": "NI"
            }]},
            "system": NATIONAL_ID_SYSTEM,
            "value": national_id
        }],
        "name": [{"text": request.applicant_name.expose()}]
    });
    if let Some(b) = birth_date {
        patient["birthDate"] = Value::String(b);
    }
    Some(json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_ref,
                "resource": patient,
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": format!("identifier={NATIONAL_ID_SYSTEM}|{national_id}")
                }
            },
            {
                "fullUrl": encounter_ref,
                "resource": {
                    "resourceType": "Encounter",
                    "status": "arrived",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB"
                    },
                    "identifier": [{
                        "system": SUBMISSION_ID_SYSTEM,
                        "value": encounter_ref
                    }],
                    "serviceType": {
                        "coding": [{"code": request.procedure_code}],
                        "text": request.procedure_name
                    },
                    "subject": {"reference": patient_ref}
                },
                "request": {
                    "method": "POST",
                    "url": "Encounter",
                    "ifNoneExist": format!("identifier={SUBMISSION_ID_SYSTEM}|{encounter_ref}")
                }
            }
        ]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::SubmissionKind;
    use kiosk_hw::personal::Personal;

    #[test]
    fn bundle_shape_and_determinism() {
        let r = SubmissionRequest {
            reference_uid: "0190f0a0-0000-7000-8000-000000000001".into(),
            kind: SubmissionKind::Clinic,
            procedure_code: "K01".into(),
            procedure_name: "Khám nội".into(),
            applicant_name: Personal::new("NGUYEN VAN AN".into()),
            id_number: Personal::new("001090123456".into()),
            date_of_birth: Personal::new("01/01/1990".into()),
            face_matched: true,
            face_score: 0.9,
            liveness_passed: true,
            submitted_at: "20260105093000".into(),
        };
        let b = registration_bundle(&r).expect("bundle");
        assert_eq!(b, registration_bundle(&r).expect("again"));
        let e = &b["entry"];
        assert_eq!(
            e[0]["request"]["ifNoneExist"],
            "identifier=http://fhir.ehealth.gov.vn/core/sid/national_id|001090123456"
        );
        assert_eq!(e[0]["resource"]["birthDate"], "1990-01-01");
        assert_eq!(e[1]["resource"]["status"], "arrived");
        assert_eq!(e[1]["resource"]["class"]["code"], "AMB");
        assert_eq!(
            e[1]["resource"]["identifier"][0]["value"],
            "urn:uuid:0190f0a0-0000-7000-8000-000000000001"
        );
        assert_eq!(e[1]["resource"]["subject"]["reference"], e[0]["fullUrl"]);
        let mut bad = r;
        bad.reference_uid = "not-a-uuid".into();
        assert!(registration_bundle(&bad).is_none());
    }
}
