//! Masking personal data, deterministically: a [`Masker`] turns a real value into a fake one
//! chosen by HMAC-SHA256 of the value under a key. One key gives the same fake for the same
//! input every time, in Postgres and in DynamoDB alike; without the key the fake says nothing
//! about the value. People are masked by their uuid (the same person gets the same fake
//! name, email and Cognito id wherever they appear); text people write by the text itself,
//! into readable filler of the same length in characters. Pure: no I/O.

use sha2::{Digest, Sha256};

/// What a column or attribute holds, and so how it is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Kept as it is: handles, uuids, times, counts (what the app's queries join on).
    Keep,
    /// A person's name, by their uuid.
    Name,
    /// A person's email address, by their uuid.
    Email,
    /// A person's Cognito id (a uuid-shaped `sub`), by their uuid.
    CognitoId,
    /// Text a person wrote: filler of the same length.
    Text,
}

impl Rule {
    pub(crate) fn masks(self) -> bool {
        self != Rule::Keep
    }
}

/// The key the fakes are chosen by: HMAC's two hashes with the padded key already absorbed
/// (each value then costs only its own blocks, not the key's again).
pub(crate) struct Masker {
    inner: Sha256,
    outer: Sha256,
}

const FIRST: &[&str] = &[
    "Ada", "Bram", "Cleo", "Dario", "Edda", "Fenna", "Gus", "Hana", "Ines", "Jora", "Kai", "Lena",
    "Milo", "Nell", "Otto", "Pia", "Quin", "Rosa", "Sami", "Tova", "Ugo", "Vera", "Wim", "Xena",
    "Yuri", "Zita", "Arlo", "Bea", "Cas", "Dina", "Emil", "Flor",
];

const LAST: &[&str] = &[
    "Alder", "Birch", "Cedar", "Dune", "Elm", "Fjord", "Glen", "Heath", "Isle", "Juniper", "Knoll",
    "Larch", "Moss", "Nettle", "Oak", "Pine", "Quarry", "Reed", "Sorrel", "Thorn", "Umber", "Vale",
    "Willow", "Yarrow", "Zephyr", "Bracken", "Clover", "Fern", "Hazel", "Ivy", "Lichen", "Rowan",
];

/// Filler words: plain, short, and plainly not anybody's message.
const WORDS: &[&str] = &[
    "lorem", "ipsum", "dolor", "sit", "amet", "quis", "nostrud", "tempor", "magna", "aliqua",
    "velit", "esse", "culpa", "qui", "officia", "nulla", "porro", "fugiat", "minim", "veniam",
    "sunt", "in", "est", "labore", "dolore", "enim", "ad", "ut", "aute", "irure", "nisi", "duis",
];

impl Masker {
    /// Fakes chosen by `key` (any text; the same key gives the same fakes on every run).
    pub(crate) fn new(key: &[u8]) -> Masker {
        // HMAC's key block: a key longer than the block is hashed first.
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| block.map(|k| k ^ byte);
        Masker {
            inner: Sha256::new().chain_update(pad(0x36)),
            outer: Sha256::new().chain_update(pad(0x5c)),
        }
    }

    /// HMAC-SHA256 of `domain` and `value` under the key: what a fake is chosen by.
    fn hash(&self, domain: &str, value: &str) -> [u8; 32] {
        self.hmac(&[domain.as_bytes(), &[0], value.as_bytes()])
    }

    /// HMAC-SHA256 (RFC 2104) of the parts, one after another.
    fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        self.outer
            .clone()
            .chain_update(inner.finalize())
            .finalize()
            .into()
    }

    /// The fake for `value` by `rule`; `person` is the uuid of whom it belongs to (for the
    /// rules that are a person's), else the value itself is what the fake is chosen by.
    pub(crate) fn mask(&self, rule: Rule, value: &str, person: Option<&str>) -> String {
        let by = person.unwrap_or(value);
        match rule {
            Rule::Keep => value.to_string(),
            Rule::Name => self.name(by),
            Rule::Email => self.email(by),
            Rule::CognitoId => self.cognito_id(by),
            Rule::Text => self.text(value),
        }
    }

    /// A person's fake name: `Ada Birch`.
    pub(crate) fn name(&self, person: &str) -> String {
        let h = self.hash("name", person);
        format!(
            "{} {}",
            FIRST[usize::from(h[0]) % FIRST.len()],
            LAST[usize::from(h[1]) % LAST.len()]
        )
    }

    /// A person's fake email, at a domain that is never anybody's: `ada.birch.3fa9c1@example.com`.
    pub(crate) fn email(&self, person: &str) -> String {
        let name = self.name(person).to_ascii_lowercase().replace(' ', ".");
        let h = self.hash("email", person);
        format!("{name}.{}@example.com", hex(&h[..3]))
    }

    /// A person's fake Cognito `sub`, shaped as a uuid.
    pub(crate) fn cognito_id(&self, person: &str) -> String {
        let h = hex(&self.hash("cognito", person)[..16]);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Filler words of exactly as many characters as `text` has; empty stays empty.
    pub(crate) fn text(&self, text: &str) -> String {
        let length = text.chars().count();
        let mut state =
            u64::from_le_bytes(self.hash("text", text)[..8].try_into().unwrap_or([0; 8]));
        let mut out = String::with_capacity(length);
        while out.len() < length {
            // splitmix64: a stream of choices from the hash.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(WORDS[(z % WORDS.len() as u64) as usize]);
        }
        // ASCII only, so characters are bytes: cut to the length, never ending on a space.
        out.truncate(length);
        if out.ends_with(' ') {
            out.pop();
            out.push('.');
        }
        out
    }
}

/// A fresh random key, for a pull without `--mask-key`: fakes that no later run repeats.
pub(crate) fn random_key() -> Vec<u8> {
    let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_the_standard_one() {
        // RFC 4231, test cases 2 (a short key) and 6 (a key longer than the block).
        let short = Masker::new(b"Jefe").hmac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&short),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long = Masker::new(&[0xaa; 131])
            .hmac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            hex(&long),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn one_key_gives_one_fake_and_another_key_another() {
        let (a, b) = (Masker::new(b"one"), Masker::new(b"two"));
        let person = "5f0c7e4c-1f1e-4b8a-9d7e-3c2b1a0f9e8d";
        assert_eq!(a.name(person), a.name(person));
        assert_eq!(a.email(person), Masker::new(b"one").email(person));
        assert_ne!(
            (a.name(person), a.email(person)),
            (b.name(person), b.email(person))
        );
        let id = a.cognito_id(person);
        assert_eq!(id.len(), 36);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert!(a.email(person).ends_with("@example.com"));
    }

    #[test]
    fn text_keeps_its_length_in_characters_and_none_of_its_words() {
        let masker = Masker::new(b"k");
        for text in [
            "",
            "a",
            "hi there",
            "Timothée says: ça va? 100% — \u{1b}[31m",
            &"x".repeat(4000),
        ] {
            let fake = masker.text(text);
            assert_eq!(
                fake.chars().count(),
                text.chars().count(),
                "{text:?} → {fake:?}"
            );
            assert!(fake.is_ascii() && !fake.ends_with(' '), "{fake:?}");
            assert_eq!(fake, masker.text(text));
        }
        // None of the text's own words come through.
        let said = "Seeded from the repository, Zoë";
        let fake = masker.text(said).to_lowercase();
        for word in said
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
        {
            assert!(!fake.contains(&word.to_lowercase()), "{word} in {fake}");
        }
    }
}
