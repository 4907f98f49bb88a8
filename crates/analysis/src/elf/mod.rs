//! What a native binary needs from the machine: its ELF machine (x86_64, aarch64, …) and the glibc
//! symbol versions (`GLIBC_2.28`) it requires, read from `.gnu.version_r`. A wheel's platform tag
//! is a promise; this reads what the `.so` actually asks for (`GLIBC_2.28 not found`,
//! `invalid ELF header` and `exec format error` on Lambda are the failures this prevents), and
//! from `.dynamic` the libraries it needs (`DT_NEEDED`) and where it asks the loader to look.

/// The loader's view (program headers: `PT_INTERP`, `PT_DYNAMIC`), for running an interpreter.
pub mod program;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfInfo {
    /// `x86_64`, `aarch64`, or `machine N` for others.
    pub machine: String,
    /// Highest `GLIBC_x.y` version needed, if any.
    pub max_glibc: Option<(u32, u32)>,
    /// Highest `GLIBC_x.y` version defined (`.gnu.version_d`): for libc itself, its version.
    pub defines_glibc: Option<(u32, u32)>,
    /// What the dynamic loader reads from `.dynamic`: `DT_NEEDED` sonames, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH` and `DT_RUNPATH` (colon-separated, `$ORIGIN` unexpanded), `DT_SONAME`.
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    pub soname: Option<String>,
}

pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

struct Reader<'a> {
    b: &'a [u8],
    le: bool,
    is64: bool,
}

impl Reader<'_> {
    /// `n` bytes at `o`, `None` when any of them is outside the file (or `o + n` overflows).
    fn at(&self, o: usize, n: usize) -> Option<&[u8]> {
        self.b.get(o..o.checked_add(n)?)
    }
    fn u16(&self, o: usize) -> Option<u64> {
        let s: [u8; 2] = self.at(o, 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        } as u64)
    }
    fn u32(&self, o: usize) -> Option<u64> {
        let s: [u8; 4] = self.at(o, 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        } as u64)
    }
    fn u64(&self, o: usize) -> Option<u64> {
        let s: [u8; 8] = self.at(o, 8)?.try_into().ok()?;
        Some(if self.le {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    }
    /// A header field used as an offset, size or count.
    fn size(&self, o: usize, width: u8) -> Option<usize> {
        let v = match width {
            2 => self.u16(o)?,
            4 => self.u32(o)?,
            _ => self.u64(o)?,
        };
        usize::try_from(v).ok()
    }
    fn cstr(&self, o: usize) -> Option<&str> {
        let rest = self.b.get(o..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }
}

/// Why a file's ELF headers could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("damaged ELF headers: {0}")]
    Damaged(&'static str),
}

/// Offsets and sizes in the headers are the file's to choose: every sum is checked, and the walk
/// of the version chains is bounded (real libraries have tens of entries).
const MAX_STEPS: usize = 100_000;

fn parse_glibc(name: &str) -> Option<(u32, u32)> {
    let v = name.strip_prefix("GLIBC_")?;
    let mut it = v.split('.');
    Some((
        it.next()?.parse().ok()?,
        it.next().and_then(|m| m.parse().ok()).unwrap_or(0),
    ))
}

/// Reads an ELF image's machine and glibc versions; an error if it is not ELF or its section
/// headers or version chains point outside the file.
pub fn inspect(b: &[u8]) -> Result<ElfInfo, ElfError> {
    if !is_elf(b) {
        return Err(ElfError::NotElf);
    }
    read(b).ok_or(ElfError::Damaged(
        "its section headers or symbol versions point outside the file",
    ))
}

fn read(b: &[u8]) -> Option<ElfInfo> {
    let r = Reader {
        b,
        is64: *b.get(4)? == 2,
        le: *b.get(5)? == 1,
    };
    let machine = match r.u16(18)? {
        62 => "x86_64".to_string(),
        183 => "aarch64".to_string(),
        3 => "i386".to_string(),
        40 => "arm".to_string(),
        m => format!("machine {m}"),
    };
    let (shoff, shentsize, shnum) = if r.is64 {
        (r.size(0x28, 8)?, r.size(0x3a, 2)?, r.size(0x3c, 2)?)
    } else {
        (r.size(0x20, 4)?, r.size(0x2e, 2)?, r.size(0x30, 2)?)
    };
    // (type, offset, link, info) of section `i`.
    let section = |i: usize| -> Option<(u64, usize, usize, usize)> {
        let o = shoff.checked_add(i.checked_mul(shentsize)?)?;
        if r.is64 {
            Some((
                r.u32(o.checked_add(4)?)?,
                r.size(o.checked_add(0x18)?, 8)?,
                r.size(o.checked_add(0x28)?, 4)?,
                r.size(o.checked_add(0x2c)?, 4)?,
            ))
        } else {
            Some((
                r.u32(o.checked_add(4)?)?,
                r.size(o.checked_add(0x10)?, 4)?,
                r.size(o.checked_add(0x18)?, 4)?,
                r.size(o.checked_add(0x1c)?, 4)?,
            ))
        }
    };
    let name_at = |str_off: usize, name: usize| {
        str_off
            .checked_add(name)
            .and_then(|o| r.cstr(o))
            .and_then(parse_glibc)
    };
    let mut steps = 0usize;
    let mut step = || {
        steps += 1;
        (steps <= MAX_STEPS).then_some(())
    };
    let mut max_glibc = None;
    let mut defines_glibc = None;
    let (mut needed, mut rpath, mut runpath, mut soname) = (Vec::new(), None, None, None);
    for i in 0..shnum {
        let (kind, off, link, count) = section(i)?;
        if kind == 6 {
            // SHT_DYNAMIC: Elf{64,32}_Dyn { d_tag, d_val } up to DT_NULL; strings in `link`.
            let (_, str_off, _, _) = section(link)?;
            let width = if r.is64 { 8 } else { 4 };
            let mut at = off;
            loop {
                step()?;
                let tag = r.size(at, width)?;
                let val = r.size(at.checked_add(width as usize)?, width)?;
                let text = || {
                    str_off
                        .checked_add(val)
                        .and_then(|o| r.cstr(o))
                        .map(str::to_string)
                };
                match tag {
                    0 => break,
                    1 => needed.push(text()?),
                    14 => soname = Some(text()?),
                    15 => rpath = Some(text()?),
                    29 => runpath = Some(text()?),
                    _ => {}
                }
                at = at.checked_add(2 * width as usize)?;
            }
            continue;
        }
        if kind == 0x6fff_fffd {
            // SHT_GNU_verdef: Verdef { version, flags, ndx, cnt: u16; hash, aux, next: u32 }
            let (_, str_off, _, _) = section(link)?;
            let mut vd = off;
            for _ in 0..count.max(1) {
                step()?;
                let aux = r.size(vd.checked_add(12)?, 4)?;
                let next = r.size(vd.checked_add(16)?, 4)?;
                let name = vd
                    .checked_add(aux)
                    .and_then(|a| r.size(a, 4))
                    .and_then(|n| name_at(str_off, n));
                if let Some(v) = name {
                    defines_glibc = defines_glibc.max(Some(v));
                }
                if next == 0 {
                    break;
                }
                vd = vd.checked_add(next)?;
            }
            continue;
        }
        if kind != 0x6fff_fffe {
            continue; // SHT_GNU_verneed
        }
        let (_, str_off, _, _) = section(link)?;
        let mut vn = off;
        for _ in 0..count.max(1) {
            step()?;
            let cnt = r.size(vn.checked_add(2)?, 2)?;
            let aux = r.size(vn.checked_add(8)?, 4)?;
            let next = r.size(vn.checked_add(12)?, 4)?;
            let mut a = vn.checked_add(aux)?;
            for _ in 0..cnt {
                step()?;
                let name = r.size(a.checked_add(8)?, 4)?;
                if let Some(v) = name_at(str_off, name) {
                    max_glibc = max_glibc.max(Some(v));
                }
                let an = r.size(a.checked_add(12)?, 4)?;
                if an == 0 {
                    break;
                }
                a = a.checked_add(an)?;
            }
            if next == 0 {
                break;
            }
            vn = vn.checked_add(next)?;
        }
    }
    Some(ElfInfo {
        machine,
        max_glibc,
        defines_glibc,
        needed,
        rpath,
        runpath,
        soname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machines_libraries() {
        // The test binary itself is an ELF file for this machine, linked against glibc.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = inspect(&me).unwrap();
        assert_eq!(info.machine, std::env::consts::ARCH);
        let (major, minor) = info
            .max_glibc
            .expect("a Rust binary needs some GLIBC_ version");
        assert_eq!(major, 2);
        assert!(minor >= 2, "{minor}");
        assert_eq!(inspect(b"not an elf"), Err(ElfError::NotElf));
        // This machine's libc defines its own version (Debian 12: GLIBC_2.36).
        let libc = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
            "/lib64/libc.so.6",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap();
        let defined = inspect(&std::fs::read(libc).unwrap())
            .unwrap()
            .defines_glibc
            .unwrap();
        assert!(
            defined >= (2, 17) && defined >= info.max_glibc.unwrap(),
            "{defined:?}"
        );
        assert!(
            info.needed.iter().any(|n| n == "libc.so.6"),
            "{:?}",
            info.needed
        );
        let libc_info = inspect(&std::fs::read(libc).unwrap()).unwrap();
        assert_eq!(libc_info.soname.as_deref(), Some("libc.so.6"));
        assert_eq!(parse_glibc("GLIBC_2.28"), Some((2, 28)));
        assert_eq!(parse_glibc("GLIBC_PRIVATE"), None);
    }

    /// An ELF64 little-endian x86_64 header with the section table at `shoff`.
    fn header(shoff: u64, shentsize: u16, shnum: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        b[0x3a..0x3c].copy_from_slice(&shentsize.to_le_bytes());
        b[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
        b
    }

    #[test]
    fn offsets_that_overflow_are_damaged_headers_not_a_panic() {
        // The crash input kept in the fuzz corpus: a section table at the end of the address
        // space (shoff + 4 overflowed).
        let crasher = include_bytes!("../../../../fuzz/corpus/elf/crash-shoff-overflow");
        assert!(matches!(inspect(crasher), Err(ElfError::Damaged(_))));
        for shoff in [u64::MAX, u64::MAX - 3, u64::MAX - 0x2c, 1 << 63] {
            assert!(
                matches!(inspect(&header(shoff, 64, 3)), Err(ElfError::Damaged(_))),
                "{shoff:#x}"
            );
        }
        // A section entry size that overflows when multiplied by the index.
        assert!(matches!(
            inspect(&header(64, u16::MAX, u16::MAX)),
            Err(ElfError::Damaged(_))
        ));
        // No sections: nothing needed, nothing defined.
        let none = inspect(&header(0, 0, 0)).unwrap();
        assert_eq!((none.machine.as_str(), none.max_glibc), ("x86_64", None));
    }

    #[test]
    fn version_chains_out_of_the_file_or_without_end_are_damaged() {
        // One SHT_GNU_verneed section header at 64 (its own string table: link 0), repeated
        // 65,535 times by an entry size of 0; its Verneed at 128 has 1,000 Vernaux entries.
        let mut b = header(64, 0, u16::MAX);
        b.resize(144 + 16 * 1000, 0);
        b[64 + 4..64 + 8].copy_from_slice(&0x6fff_fffeu32.to_le_bytes());
        b[64 + 0x18..64 + 0x20].copy_from_slice(&128u64.to_le_bytes());
        b[128 + 2..128 + 4].copy_from_slice(&u16::MAX.to_le_bytes());
        b[128 + 8..128 + 12].copy_from_slice(&16u32.to_le_bytes());
        for e in 0..999 {
            let a = 144 + 16 * e;
            b[a + 12..a + 16].copy_from_slice(&16u32.to_le_bytes());
        }
        // 65 million steps without a bound: refused after MAX_STEPS.
        assert!(matches!(inspect(&b), Err(ElfError::Damaged(_))));
        // One section walks 1,000 entries: fine.
        b[0x3c..0x3e].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(inspect(&b).unwrap().max_glibc, None);
        // An aux offset past the end of the file.
        b[128 + 8..128 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(inspect(&b), Err(ElfError::Damaged(_))));
    }
}
