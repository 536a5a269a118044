//! The key id of a site's token certificate: what `verify.sh` expects in the `kid` header
//! of every token a Harbor node of the site signs.

/// The key id Harbor puts in the `kid` header of every token it signs (libtrust's
/// fingerprint): SHA-256 of the DER `SubjectPublicKeyInfo`, truncated to 240 bits,
/// base32 in 12 groups of 4 joined by `:`. Computed from the token certificate, so from
/// public data only. `None` when the PEM is not an RSA certificate.
#[must_use]
pub fn token_key_id(certificate_pem: &str) -> Option<String> {
    use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
    use sha2::Digest;
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(certificate_pem.as_bytes()).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    // Re-encode through the RSA type: the canonical form Go's MarshalPKIXPublicKey writes.
    let key = rsa::RsaPublicKey::from_public_key_der(&spki).ok()?;
    let der = key.to_public_key_der().ok()?;
    let digest = sha2::Sha256::digest(der.as_bytes());
    Some(libtrust_key_id(&digest[..30]))
}

/// libtrust's `keyIDEncode`: unpadded standard base32 in groups of 4 joined by `:`.
fn libtrust_key_id(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut b32 = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            b32.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        b32.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    let groups: Vec<&str> = b32.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    groups.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_encoding() {
        // 30 zero bytes: 48 base32 'A's in 12 groups.
        assert_eq!(libtrust_key_id(&[0u8; 30]), ["AAAA"; 12].join(":"));
        // RFC 4648 test vector "foobar" → MZXW6YTBOI (unpadded).
        assert_eq!(libtrust_key_id(b"foobar"), "MZXW:6YTB:OI");
    }

    #[test]
    fn key_id_of_the_test_certificate() {
        let crt = include_str!("../../../../tests/keys/test-token.crt");
        // Computed independently: openssl x509 -pubkey | openssl pkey -pubin -outform DER |
        // sha256, first 30 bytes, base32 (Python's base64.b32encode).
        assert_eq!(token_key_id(crt).as_deref(), Some(TEST_KID));
        assert_eq!(token_key_id("not a certificate"), None);
    }

    const TEST_KID: &str = "6GAQ:SGTH:TWRE:PSH7:FG3Z:HLPK:DNB7:MMPV:KHS5:SZXM:AO54:26ED";
}
