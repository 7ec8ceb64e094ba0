#![no_main]
//! Signature parameters, certificates and SODs: the fuzz input is spliced into a genuine
//! RSA-PSS chain (as the SOD, a trusted CSCA, a DS certificate, a signature AlgorithmIdentifier
//! or an RSA key and signature). Nothing may panic.
use std::collections::BTreeMap;
use std::sync::OnceLock;

use kiosk_icao9303::pki::{self, HashAlg, PublicKey, SigAlg};
use kiosk_icao9303::{auth, issue, tlv};
use libfuzzer_sys::fuzz_target;

const NOW: &str = "20260101000000";

fn dgs() -> BTreeMap<u8, Vec<u8>> {
    BTreeMap::from([(1, b"dg1".to_vec())])
}

fn chain() -> &'static issue::Chain {
    static CHAIN: OnceLock<issue::Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut rng = issue::TestRng::new(5);
        let (csca, csca_alg) =
            issue::key_and_algorithm("rsa-3072-pss-sha384", &mut rng).expect("csca");
        let (ds, ds_alg) = issue::key_and_algorithm("rsa-2048-pss-sha256", &mut rng).expect("ds");
        issue::chain(
            &issue::ChainSpec {
                csca: (&csca, csca_alg),
                ds: (&ds, ds_alg),
                csca_validity: ("20200101000000", "20450101000000"),
                ds_validity: ("20200101000000", "20400101000000"),
                dgs: &dgs(),
                faults: issue::ChainFaults::default(),
            },
            &mut rng,
        )
        .expect("chain")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let c = chain();
    let trust = vec![c.csca.clone()];
    match mode % 5 {
        // The input as the SOD.
        0 => {
            let _ = auth::passive_authentication(Some(rest), &dgs(), &trust, NOW);
        }
        // The input as the only trusted CSCA (a trust anchor is trusted as it is: any
        // verdict is fine, a panic is not).
        1 => {
            let _ = auth::passive_authentication(Some(&c.sod), &dgs(), &[rest.to_vec()], NOW);
        }
        // The input replacing the DS certificate inside the SOD (same length or not).
        2 => {
            if let Some(pos) = c.sod.windows(c.ds.len()).position(|w| w == c.ds.as_slice()) {
                let sod = [&c.sod[..pos], rest, &c.sod[pos + c.ds.len()..]].concat();
                let _ = auth::passive_authentication(Some(&sod), &dgs(), &trust, NOW);
            }
            if let Ok(cert) = pki::parse_certificate(rest) {
                let _ = pki::parse_spki(cert.spki);
            }
        }
        // The input as a signature AlgorithmIdentifier, then used against the DS key.
        3 => {
            if let Ok((t, _)) = tlv::parse_one(rest) {
                if let Ok(alg) = SigAlg::from_algorithm_identifier(&t) {
                    if let Ok(ds) = pki::parse_certificate(&c.ds) {
                        if let Ok(key) = pki::parse_spki(ds.spki) {
                            let _ = pki::verify(&key, alg, b"m", &[0x42; 256]);
                        }
                    }
                }
            }
        }
        // The input split into an RSA modulus, exponent and signature.
        _ => {
            let (n, rest) = rest.split_at(rest.len() / 2);
            let (e, sig) = rest.split_at(rest.len().min(4));
            let key = PublicKey::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
            };
            for alg in [
                SigAlg::RsaPkcs1(HashAlg::Sha256),
                SigAlg::RsaPss(HashAlg::Sha512, usize::MAX),
            ] {
                let _ = pki::verify(&key, alg, b"m", sig);
            }
        }
    }
});
