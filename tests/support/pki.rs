//! A private certificate authority made at test time, and the server
//! certificates it signs.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    /// What a certificate it signs carries after itself: nothing for a
    /// root, the intermediates up to the root otherwise.
    chain: String,
}

/// A server certificate with its chain, and its private key.
pub struct Leaf {
    /// The certificate alone, DER: what a client sees the server present.
    pub der: Vec<u8>,
    /// The certificate then its chain, PEM: the `--tls-cert` file.
    pub chain_pem: String,
    pub key_pem: String,
}

impl Ca {
    pub fn root(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let cert = ca_params(name).self_signed(&key).expect("CA certificate");
        Self { cert, key, chain: String::new() }
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, name: &str) -> Self {
        let key = KeyPair::generate().expect("intermediate key");
        let cert = ca_params(name).signed_by(&key, &self.cert, &self.key).expect("intermediate certificate");
        let chain = format!("{}{}", cert.pem(), self.chain);
        Self { cert, key, chain }
    }

    /// The certificate a client trusts.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid
    /// now, or one that expired long ago.
    pub fn leaf(&self, names: &[&str], common_name: &str, expired: bool) -> Leaf {
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("names");
        params.distinguished_name.push(DnType::CommonName, common_name);
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2000, 1, 2);
        }
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("server certificate");
        Leaf {
            der: cert.der().to_vec(),
            chain_pem: format!("{}{}", cert.pem(), self.chain),
            key_pem: key.serialize_pem(),
        }
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

impl Leaf {
    /// Writes the pair where a server reads it, each file replaced whole
    /// (written aside, then renamed), as deployment tools do.
    pub fn install(&self, cert: &Path, key: &Path) {
        replace(key, &self.key_pem);
        replace(cert, &self.chain_pem);
    }
}

fn replace(path: &Path, contents: &str) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, contents).expect("write");
    std::fs::rename(&aside, path).expect("rename");
}
