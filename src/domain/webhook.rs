//! Webhooks' vocabulary: the events an endpoint can subscribe to, the
//! subscriptions themselves (names and `prefix.*` wildcards), endpoint URLs,
//! which addresses count as private, and the signing secret and signature of
//! the Standard Webhooks specification. Pure values and rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What happened, as a receiver sees it in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    AccountCreated,
    AccountUpdated,
    AccountDeleted,
    AccountRestored,
    KeyCreated,
    KeyRotated,
    KeyDisabled,
    KeyEnabled,
    KeyDeleted,
    KeyExpiring,
    KeyExpired,
    KeyLeaked,
    UserAdded,
    UserUpdated,
    UserRemoved,
    UserAccepted,
    UserDeclined,
}

impl Event {
    pub const ALL: [Event; 17] = [
        Event::AccountCreated,
        Event::AccountUpdated,
        Event::AccountDeleted,
        Event::AccountRestored,
        Event::KeyCreated,
        Event::KeyRotated,
        Event::KeyDisabled,
        Event::KeyEnabled,
        Event::KeyDeleted,
        Event::KeyExpiring,
        Event::KeyExpired,
        Event::KeyLeaked,
        Event::UserAdded,
        Event::UserUpdated,
        Event::UserRemoved,
        Event::UserAccepted,
        Event::UserDeclined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::AccountCreated => "account.created",
            Event::AccountUpdated => "account.updated",
            Event::AccountDeleted => "account.deleted",
            Event::AccountRestored => "account.restored",
            Event::KeyCreated => "key.created",
            Event::KeyRotated => "key.rotated",
            Event::KeyDisabled => "key.disabled",
            Event::KeyEnabled => "key.enabled",
            Event::KeyDeleted => "key.deleted",
            Event::KeyExpiring => "key.expiring",
            Event::KeyExpired => "key.expired",
            Event::KeyLeaked => "key.leaked",
            Event::UserAdded => "user.added",
            Event::UserUpdated => "user.updated",
            Event::UserRemoved => "user.removed",
            Event::UserAccepted => "user.accepted",
            Event::UserDeclined => "user.declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// `key` for `key.created`.
    pub fn family(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Due now or after its backoff.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up on: failing for too long, or not to be sent at all.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of an endpoint's `events`: an event, or a whole family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    One(Event),
    /// `key.*`: every event of the family, those added later included.
    Family(&'static str),
}

/// At most this many entries in an endpoint's `events`.
pub const MAX_SUBSCRIPTIONS: usize = 50;

impl Subscription {
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(family) = s.strip_suffix(".*") {
            return Event::ALL
                .into_iter()
                .map(Event::family)
                .find(|f| *f == family)
                .map(Subscription::Family)
                .ok_or_else(|| format!("no events start with {family:?}; families: account.*, key.*, user.*"));
        }
        Event::parse(s).map(Subscription::One).ok_or_else(|| {
            let known: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
            format!("unknown event {s:?}; expected one of {} or a family such as key.*", known.join(", "))
        })
    }

    pub fn as_str(self) -> String {
        match self {
            Subscription::One(e) => e.as_str().to_owned(),
            Subscription::Family(f) => format!("{f}.*"),
        }
    }

    pub fn matches(self, event: Event) -> bool {
        match self {
            Subscription::One(e) => e == event,
            Subscription::Family(f) => event.family() == f,
        }
    }
}

/// A list of subscriptions as an endpoint holds it (duplicates dropped, order
/// kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriptions(Vec<Subscription>);

impl Subscriptions {
    /// `Err((index, why))` names the entry at fault; `index` is `None` when
    /// the list as a whole is wrong.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, (Option<usize>, String)> {
        if raw.is_empty() {
            return Err((None, "must name at least one event".to_owned()));
        }
        if raw.len() > MAX_SUBSCRIPTIONS {
            return Err((None, format!("at most {MAX_SUBSCRIPTIONS} entries")));
        }
        let mut out: Vec<Subscription> = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let sub = Subscription::parse(s.as_ref()).map_err(|why| (Some(i), why))?;
            if !out.contains(&sub) {
                out.push(sub);
            }
        }
        Ok(Self(out))
    }

    /// Reads what `to_json` stored; entries no longer known are dropped.
    pub fn from_stored(json: &str) -> Self {
        let raw: Vec<String> = serde_json::from_str(json).unwrap_or_default();
        Self(raw.iter().filter_map(|s| Subscription::parse(s).ok()).collect())
    }

    pub fn to_json(&self) -> String {
        serde_json::Value::from(self.names()).to_string()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    pub fn matches(&self, event: Event) -> bool {
        self.0.iter().any(|s| s.matches(event))
    }
}

/// The longest endpoint URL.
pub const MAX_URL_LEN: usize = 2048;

/// An endpoint's address: http or https, with a host, no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(url::Url);

impl EndpointUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Err("is required".to_owned());
        }
        if raw.chars().count() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        // The URL parser would quietly drop some (tabs, line breaks) and
        // percent-encode others (NUL): what was typed is refused instead.
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must start with https:// or http://".to_owned());
        }
        if url.host().is_none() {
            return Err("must name a host".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Credentials in a URL end up in logs and listings.
            return Err("must not carry a user name or password".to_owned());
        }
        if url.fragment().is_some() {
            return Err("must not have a #fragment".to_owned());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host to resolve and the port to reach.
    pub fn host_and_port(&self) -> (String, u16) {
        let host = match self.0.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        (host, self.0.port_or_known_default().unwrap_or(443))
    }

    /// The address the URL names itself, when its host is an IP literal.
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }

    /// What can be known without the network of whether webhooks may reach
    /// this URL: refused when it names a private address itself, or a name
    /// that is this machine wherever it is resolved (`localhost` and the
    /// names under it, RFC 6761). Any other name is judged where deliveries
    /// are made, on the addresses it resolves to then.
    pub fn refuse_private(&self) -> Result<(), PrivateTarget> {
        let (host, _) = self.host_and_port();
        match self.literal_ip() {
            Some(ip) => PrivateTarget::check(&host, [ip]),
            None if is_local_name(&host) => Err(PrivateTarget(host)),
            None => Ok(()),
        }
    }
}

/// Names that are this machine wherever they are resolved: `localhost` and
/// the names under it (RFC 6761 §6.3), however written.
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A host webhooks may not reach without `--webhook-allow-private`: it is,
/// or resolves to, an address `is_private` refuses. The message names the
/// host as the URL wrote it, never the address a name resolved to, which
/// would map the server's own network for whoever registers a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} leads to a loopback or private address, which webhooks may not reach")]
pub struct PrivateTarget(pub String);

impl PrivateTarget {
    /// `is_private` applied to every address `host` leads to: refused if
    /// any one is private, since a connection may use any of them.
    pub fn check(host: &str, addresses: impl IntoIterator<Item = IpAddr>) -> Result<(), Self> {
        if addresses.into_iter().any(is_private) { Err(Self(host.to_owned())) } else { Ok(()) }
    }
}

/// Addresses a webhook may not reach without `--webhook-allow-private`:
/// loopback, private (RFC 1918), link-local, unique-local IPv6, unspecified,
/// CGNAT (RFC 6598), multicast (IPv4 and `ff00::/8`), reserved, and the
/// IPv4 ones written as IPv6 (IPv4-mapped, IPv4-compatible, SIIT, NAT64,
/// 6to4). Teredo (`2001::/32`) is refused whole: it tunnels to an IPv4
/// address hidden in the IPv6 one, through a relay keyward does not choose.
///
/// The one rule, asked through `PrivateTarget::check` by the registration's
/// check (`EndpointUrl::refuse_private`), by the resolver every attempt
/// connects through, and by an attempt at a literal address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || v6.is_multicast() // ff00::/8
                || (first == 0x2001 && v6.segments()[1] == 0) // Teredo 2001::/32
                || is_v4_compatible_private(v6)
        }
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || a >= 224 // multicast 224.0.0.0/4 and reserved 240.0.0.0/4
}

/// `::a.b.c.d` (deprecated IPv4-compatible form) and NAT64 `64:ff9b::/96`
/// around a private IPv4 address.
fn is_v4_compatible_private(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6].iter().all(|&x| x == 0);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0);
    // 64:ff9b:1::/48, local-use NAT64, embeds the address the same way.
    let local_nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1;
    // ::ffff:0:a.b.c.d, SIIT.
    let siit = s[..4].iter().all(|&x| x == 0) && s[4] == 0xffff && s[5] == 0;
    // 2002:a.b.c.d::/48, 6to4, carries it in the second and third groups.
    let six_to_four =
        s[0] == 0x2002 && is_private_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    ((compatible || nat64 || local_nat64 || siit) && is_private_v4(embedded)) || six_to_four
}

/// What Standard Webhooks secrets start with.
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

/// An endpoint's signing secret: `whsec_` and the base64 of 32 random
/// bytes. Prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text form, shown to the admin once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("any key length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn events_round_trip_and_families_match() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
        let subs = Subscriptions::parse(&["key.*", "user.added", "key.created"]).expect("valid");
        assert_eq!(subs.names(), vec!["key.*", "user.added", "key.created"]);
        assert!(subs.matches(Event::KeyLeaked));
        assert!(subs.matches(Event::UserAdded));
        assert!(!subs.matches(Event::UserRemoved));
        assert!(!subs.matches(Event::AccountCreated));
        assert_eq!(Subscriptions::from_stored(&subs.to_json()), subs);
    }

    #[test]
    fn bad_subscriptions_name_the_entry() {
        let empty: [&str; 0] = [];
        assert_eq!(Subscriptions::parse(&empty).map_err(|e| e.0), Err(None));
        assert_eq!(Subscriptions::parse(&["key.created", "key.exploded"]).map_err(|e| e.0), Err(Some(1)));
        assert_eq!(Subscriptions::parse(&["org.*"]).map_err(|e| e.0), Err(Some(0)));
        assert_eq!(Subscriptions::parse(&["*"]).map_err(|e| e.0), Err(Some(0)));
        let many = vec!["key.created"; 51];
        assert_eq!(Subscriptions::parse(&many).map_err(|e| e.0), Err(None));
        assert_eq!(Subscriptions::parse(&["key.created", "key.created"]).expect("dupes").names().len(), 1);
    }

    #[test]
    fn urls() {
        for ok in ["https://hooks.example.com/x?y=1", "http://93.184.215.14:8080/", "https://[2001:db8::1]/h"] {
            assert!(EndpointUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ftp://example.com/",
            "not a url",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "mailto:a@example.com",
            "https://hooks.example.com/\u{0}",
            "https://hooks.example.com/a\tb",
            "https://hooks.example.com/\n",
        ] {
            assert!(EndpointUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(EndpointUrl::parse(&long).is_err());
        let u = EndpointUrl::parse("https://[::1]/x").expect("valid");
        assert_eq!(u.host_and_port(), ("::1".to_owned(), 443));
        assert_eq!(u.literal_ip(), Some("::1".parse().expect("ip")));
    }

    #[test]
    fn private_ranges() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "::ffff:0:a00:1",
            "2002:a00:1::1",
            "192.0.0.192",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            // IPv6 multicast, every scope.
            "ff02::1",
            "ff05::1:3",
            "ff0e::101",
            "ff00::",
            // Teredo, whatever it wraps.
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            // 6to4 and NAT64 around private IPv4 addresses.
            "2002:c0a8:101::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::c0a8:101",
            // IPv4-mapped private addresses.
            "::ffff:192.168.0.1",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::ffff:0.0.0.0",
        ] {
            assert!(is_private(private.parse().expect("ip")), "{private}");
        }
        for public in [
            "93.184.215.14",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2001:db8::1",
            "2606:4700::1111",
            "2002:808:808::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "2001:1::1",
            "2001:4860:4860::8888",
            "fe00::1",
        ] {
            assert!(!is_private(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn what_can_be_refused_without_the_network_is() {
        for refused in [
            "http://127.0.0.1:9/x",
            "http://[::1]/x",
            "http://[::ffff:10.0.0.1]/x",
            "http://localhost:8080/x",
            "http://LOCALHOST./x",
            "https://api.localhost/x",
        ] {
            let url = EndpointUrl::parse(refused).expect("url");
            let why = url.refuse_private().expect_err(refused).to_string();
            assert!(why.ends_with("leads to a loopback or private address, which webhooks may not reach"), "{why}");
        }
        // Names are judged on what they resolve to, when a delivery is made.
        for allowed in ["https://93.184.215.14/x", "https://hooks.example.com/x", "https://localhost.example.com/x"] {
            assert_eq!(EndpointUrl::parse(allowed).expect("url").refuse_private(), Ok(()), "{allowed}");
        }
        // One private address among a name's is enough, and the refusal names
        // the host, not the address.
        let public: IpAddr = "93.184.215.14".parse().expect("ip");
        let private: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(PrivateTarget::check("hooks.example.com", [public]), Ok(()));
        let refused = PrivateTarget::check("hooks.example.com", [public, private]).expect_err("private");
        assert!(refused.to_string().starts_with("hooks.example.com leads to") && !refused.to_string().contains("10.0"));
    }

    #[test]
    fn the_signature_is_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference
        // implementations.
        let secret = SigningSecret::from_bytes(STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("b64"));
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret.expose().starts_with("whsec_"));
        assert!(!format!("{secret:?}").contains(&secret.expose()[6..]));
    }

    /// `a.b.c.d` inside each IPv6 form that carries an IPv4 address.
    fn wrapped(v4: Ipv4Addr) -> [Ipv6Addr; 4] {
        let [a, b, c, d] = v4.octets();
        let (hi, lo) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
        [
            v4.to_ipv6_mapped(),
            Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
            Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, hi, lo),
        ]
    }

    proptest! {
        #[test]
        fn an_ipv4_address_wrapped_in_ipv6_is_judged_as_itself(bits in any::<u32>()) {
            let v4 = Ipv4Addr::from(bits);
            for v6 in wrapped(v4) {
                prop_assert_eq!(is_private(IpAddr::V6(v6)), is_private(IpAddr::V4(v4)), "{} as {}", v4, v6);
            }
        }

        #[test]
        fn ipv6_multicast_and_teredo_are_refused_whatever_follows(rest in any::<u128>(), scope in any::<u8>()) {
            let multicast = Ipv6Addr::from((0xffu128 << 120) | (u128::from(scope) << 112) | (rest >> 16));
            prop_assert!(is_private(IpAddr::V6(multicast)), "{}", multicast);
            let teredo = Ipv6Addr::from((0x2001_0000u128 << 96) | (rest >> 32));
            prop_assert!(is_private(IpAddr::V6(teredo)), "{}", teredo);
        }

        #[test]
        fn parsers_never_panic(s in ".*") {
            let _ = EndpointUrl::parse(&s);
            let _ = Subscription::parse(&s);
            let _ = Subscriptions::from_stored(&s);
        }
    }
}
