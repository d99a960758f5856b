//! Vendor signatures on plugin libraries: Ed25519 over the whole file, in a detached
//! signature file beside it (`libplugin.so.minisig`), in minisign's format (its `Ed`
//! algorithm: the file itself is signed), so `minisign -V -l` can check one too.
//!
//! A host given trusted vendor keys ([`TrustedKeys`]) verifies each library before it is
//! opened ([`crate::loader::load_dir_trusting`]) and refuses one that is unsigned, whose
//! signature does not match, or that is signed by a key it does not trust. Vendors make a
//! key pair once ([`SecretKey::generate`]) and sign each build ([`SecretKey::sign`]).
//!
//! Files, each a comment line and a base64 line (the signature adds a trusted comment and
//! its signature):
//!
//! ```text
//! public key:  "Ed" ‖ key id (8 bytes) ‖ Ed25519 public key (32 bytes)
//! signature:   "Ed" ‖ key id ‖ signature of the file (64)
//!              trusted comment: …  then the signature of (file signature ‖ comment)
//! secret key:  "AT" ‖ key id ‖ PKCS#8 document (this crate's own, unencrypted: keep the
//!              file private; it is written owner-only)
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// The signature file's name ending, after the library's own name.
pub const SIGNATURE_SUFFIX: &str = "minisig";
/// minisign's tag for Ed25519 over the file itself.
const ALG: &[u8; 2] = b"Ed";
/// This crate's tag for its secret key file.
const SECRET_ALG: &[u8; 2] = b"AT";
const KEY_ID_LEN: usize = 8;
const PUBLIC_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;
const TRUSTED_PREFIX: &str = "trusted comment: ";

/// A key id: 8 random bytes naming a key pair, shown as minisign shows it (hex, the last
/// byte first).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().rev() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// What went wrong reading or writing a key or signature file.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a key (or signature) of this format.
    #[error("{path} is not {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What it should have been ("a public key file", …).
        what: &'static str,
    },
    /// The system's random generator or the key could not be used.
    #[error("the signing key could not be made or used")]
    Crypto,
}

/// A vendor's public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    id: KeyId,
    key: [u8; PUBLIC_LEN],
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The public key file's text (minisign's format).
    pub fn to_file_text(&self) -> String {
        let mut bytes = ALG.to_vec();
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&self.key);
        format!(
            "untrusted comment: ATRS plugin vendor public key {}\n{}\n",
            self.id,
            STANDARD.encode(bytes)
        )
    }

    fn from_line(line: &str) -> Option<PublicKey> {
        let bytes = STANDARD.decode(line.trim()).ok()?;
        if bytes.len() != 2 + KEY_ID_LEN + PUBLIC_LEN || &bytes[..2] != ALG {
            return None;
        }
        Some(PublicKey {
            id: KeyId(bytes[2..2 + KEY_ID_LEN].try_into().ok()?),
            key: bytes[2 + KEY_ID_LEN..].try_into().ok()?,
        })
    }
}

/// The vendor keys a host trusts: every public key in a file (public key files may simply
/// be concatenated; comment lines are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// Reads the keys in `path`; a file with none is an error (it would trust nobody and
    /// refuse every plugin, which is never what was meant).
    pub fn read(path: &Path) -> Result<TrustedKeys, SigningError> {
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io {
            path: path.to_owned(),
            source,
        })?;
        let keys = TrustedKeys::parse(&text);
        if keys.keys.is_empty() {
            return Err(SigningError::Format {
                path: path.to_owned(),
                what: "a file of vendor public keys (none found)",
            });
        }
        Ok(keys)
    }

    /// The keys in `text` (lines that are not a public key are skipped).
    pub fn parse(text: &str) -> TrustedKeys {
        TrustedKeys {
            keys: text
                .lines()
                .filter(|l| !l.starts_with("untrusted comment:"))
                .filter_map(PublicKey::from_line)
                .collect(),
        }
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Checks the detached signature `signature` (the signature file's text) of `file`:
    /// the key that signed it, when it is trusted and both signatures verify.
    pub fn verify(&self, file: &[u8], signature: &str) -> Result<KeyId, SignatureProblem> {
        let parsed = Signature::parse(signature).ok_or_else(|| SignatureProblem::BadSignature {
            detail: "the signature file is not in minisign's format".into(),
        })?;
        let key = self.keys.iter().find(|k| k.id == parsed.key_id).ok_or(
            SignatureProblem::UnknownVendor {
                key_id: parsed.key_id,
            },
        )?;
        let public = UnparsedPublicKey::new(&ED25519, key.key);
        public
            .verify(file, &parsed.signature)
            .map_err(|_| SignatureProblem::BadSignature {
                detail: "the file does not match its signature (it was changed after signing)"
                    .into(),
            })?;
        let mut global = parsed.signature.to_vec();
        global.extend_from_slice(parsed.trusted_comment.as_bytes());
        public
            .verify(&global, &parsed.global_signature)
            .map_err(|_| SignatureProblem::BadSignature {
                detail: "the signature's trusted comment was changed".into(),
            })?;
        Ok(key.id)
    }
}

/// Why a library's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// No signature file beside the library.
    #[error("it has no signature file")]
    Unsigned,
    /// The signature does not verify (or cannot be read).
    #[error("its signature is not valid: {detail}")]
    BadSignature {
        /// What failed.
        detail: String,
    },
    /// Signed by a key the host does not trust.
    #[error("it is signed with key {key_id}, which is not among the trusted vendor keys")]
    UnknownVendor {
        /// The key that signed it.
        key_id: KeyId,
    },
}

/// A parsed signature file.
struct Signature {
    key_id: KeyId,
    signature: [u8; SIGNATURE_LEN],
    trusted_comment: String,
    global_signature: [u8; SIGNATURE_LEN],
}

impl Signature {
    fn parse(text: &str) -> Option<Signature> {
        let mut lines = text.lines();
        lines.next()?.strip_prefix("untrusted comment:")?;
        let bytes = STANDARD.decode(lines.next()?.trim()).ok()?;
        if bytes.len() != 2 + KEY_ID_LEN + SIGNATURE_LEN || &bytes[..2] != ALG {
            return None;
        }
        let trusted_comment = lines.next()?.strip_prefix(TRUSTED_PREFIX)?.to_owned();
        let global = STANDARD.decode(lines.next()?.trim()).ok()?;
        Some(Signature {
            key_id: KeyId(bytes[2..2 + KEY_ID_LEN].try_into().ok()?),
            signature: bytes[2 + KEY_ID_LEN..].try_into().ok()?,
            trusted_comment,
            global_signature: global.as_slice().try_into().ok()?,
        })
    }
}

/// A vendor's signing key. Its bytes never show in `Debug`.
pub struct SecretKey {
    id: KeyId,
    pkcs8: Vec<u8>,
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.id)
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.pkcs8.iter_mut().for_each(|b| *b = 0);
    }
}

impl SecretKey {
    /// A new key pair with a random id.
    pub fn generate() -> Result<SecretKey, SigningError> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SigningError::Crypto)?;
        let mut id = [0u8; KEY_ID_LEN];
        rng.fill(&mut id).map_err(|_| SigningError::Crypto)?;
        SecretKey::from_parts(KeyId(id), pkcs8.as_ref().to_vec()).ok_or(SigningError::Crypto)
    }

    fn from_parts(id: KeyId, pkcs8: Vec<u8>) -> Option<SecretKey> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).ok()?;
        Some(SecretKey { id, pkcs8, pair })
    }

    /// Reads a secret key file written by [`SecretKey::write_new`].
    pub fn read(path: &Path) -> Result<SecretKey, SigningError> {
        let bad = || SigningError::Format {
            path: path.to_owned(),
            what: "an ATRS plugin signing secret key file",
        };
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io {
            path: path.to_owned(),
            source,
        })?;
        let line = text
            .lines()
            .find(|l| !l.starts_with("untrusted comment:"))
            .ok_or_else(bad)?;
        let bytes = STANDARD.decode(line.trim()).map_err(|_| bad())?;
        if bytes.len() <= 2 + KEY_ID_LEN || &bytes[..2] != SECRET_ALG {
            return Err(bad());
        }
        let id = KeyId(bytes[2..2 + KEY_ID_LEN].try_into().map_err(|_| bad())?);
        SecretKey::from_parts(id, bytes[2 + KEY_ID_LEN..].to_vec()).ok_or_else(bad)
    }

    /// Writes the secret key to `path` (a new file, owner-only) and its public key to
    /// `path.pub`.
    pub fn write_new(&self, path: &Path) -> Result<PathBuf, SigningError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SigningError::Io { path, source }
        };
        let mut bytes = SECRET_ALG.to_vec();
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&self.pkcs8);
        let text = format!(
            "untrusted comment: ATRS plugin signing secret key {} (unencrypted: keep it private)\n{}\n",
            self.id,
            STANDARD.encode(&bytes)
        );
        bytes.iter_mut().for_each(|b| *b = 0);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io(path))?;
        file.write_all(text.as_bytes()).map_err(io(path))?;
        let public_path = PathBuf::from(format!("{}.pub", path.display()));
        std::fs::write(&public_path, self.public_key().to_file_text()).map_err(io(&public_path))?;
        Ok(public_path)
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self
                .pair
                .public_key()
                .as_ref()
                .try_into()
                .expect("an Ed25519 public key is 32 bytes"),
        }
    }

    /// The signature file's text for `file`, whose name (`file_name`) goes in the trusted
    /// comment.
    pub fn sign(&self, file: &[u8], file_name: &str) -> String {
        let signature = self.pair.sign(file);
        let mut first = ALG.to_vec();
        first.extend_from_slice(&self.id.0);
        first.extend_from_slice(signature.as_ref());
        let clean_name: String = file_name.chars().filter(|c| !c.is_control()).collect();
        let trusted = format!("file:{clean_name}\tkey:{}", self.id);
        let mut global = signature.as_ref().to_vec();
        global.extend_from_slice(trusted.as_bytes());
        let global = self.pair.sign(&global);
        format!(
            "untrusted comment: signature from ATRS plugin vendor key {}\n{}\n{TRUSTED_PREFIX}{trusted}\n{}\n",
            self.id,
            STANDARD.encode(first),
            STANDARD.encode(global.as_ref())
        )
    }
}

/// Where the signature of `library` is: the same path with `.minisig` added.
pub fn signature_path(library: &Path) -> PathBuf {
    PathBuf::from(format!("{}.{SIGNATURE_SUFFIX}", library.display()))
}

/// Checks `library` against `trusted` from its bytes and its signature file.
pub fn verify_library(library: &Path, trusted: &TrustedKeys) -> Result<KeyId, SignatureProblem> {
    let file = std::fs::File::open(library).map_err(unreadable_library)?;
    verify_open_library(library, &file, trusted)
}

/// Checks the already open `file` (the library at `library`) against `trusted`: its
/// bytes are read through `file`, from its start, so what is checked is the file that
/// was opened, whatever its name leads to by now. The signature file is read by name.
pub fn verify_open_library(
    library: &Path,
    file: &std::fs::File,
    trusted: &TrustedKeys,
) -> Result<KeyId, SignatureProblem> {
    let signature = match std::fs::read_to_string(signature_path(library)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SignatureProblem::Unsigned)
        }
        Err(e) => {
            return Err(SignatureProblem::BadSignature {
                detail: format!("the signature file cannot be read ({e})"),
            })
        }
    };
    let bytes = read_from_start(file).map_err(unreadable_library)?;
    trusted.verify(&bytes, &signature)
}

fn unreadable_library(e: std::io::Error) -> SignatureProblem {
    SignatureProblem::BadSignature {
        detail: format!("the library cannot be read ({e})"),
    }
}

/// The whole of `file`, read from its start.
fn read_from_start(file: &std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut reader = file;
    reader.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_file_verifies_and_any_change_is_caught() {
        let key = SecretKey::generate().unwrap();
        let trusted = TrustedKeys::parse(&key.public_key().to_file_text());
        let file = b"\x7fELF a library".to_vec();
        let sig = key.sign(&file, "libx.so");
        assert_eq!(trusted.verify(&file, &sig), Ok(key.public_key().id()));

        let mut flipped = file.clone();
        flipped[5] ^= 1;
        assert!(matches!(
            trusted.verify(&flipped, &sig),
            Err(SignatureProblem::BadSignature { .. })
        ));
        let forged_comment = sig.replace("file:libx.so", "file:liby.so");
        assert!(matches!(
            trusted.verify(&file, &forged_comment),
            Err(SignatureProblem::BadSignature { .. })
        ));
        assert!(matches!(
            trusted.verify(&file, "not a signature"),
            Err(SignatureProblem::BadSignature { .. })
        ));
        let other = SecretKey::generate().unwrap();
        assert_eq!(
            trusted.verify(&file, &other.sign(&file, "libx.so")),
            Err(SignatureProblem::UnknownVendor {
                key_id: other.public_key().id()
            })
        );
    }

    #[test]
    fn keys_round_trip_through_their_files_and_the_secret_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vendor.key");
        let key = SecretKey::generate().unwrap();
        let public = key.write_new(&path).unwrap();
        assert!(
            key.write_new(&path).is_err(),
            "an existing key is never overwritten"
        );
        let again = SecretKey::read(&path).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let trusted = TrustedKeys::read(&public).unwrap();
        assert_eq!(trusted.keys(), &[key.public_key()]);
        assert!(!format!("{again:?}").contains(&STANDARD.encode(&again.pkcs8)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(dir.path().join("empty"), "untrusted comment: x\n").unwrap();
        assert!(TrustedKeys::read(&dir.path().join("empty")).is_err());
    }
}
