//! What a native binary needs from the machine: its ELF machine (x86_64, aarch64, …) and the glibc
//! symbol versions (`GLIBC_2.28`) it requires, read from `.gnu.version_r`. A wheel's platform tag
//! is a promise; this reads what the `.so` actually asks for (`GLIBC_2.28 not found`,
//! `invalid ELF header` and `exec format error` on Lambda are the failures this prevents).

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfInfo {
    /// `x86_64`, `aarch64`, or `machine N` for others.
    pub machine: String,
    /// Highest `GLIBC_x.y` version needed, if any.
    pub max_glibc: Option<(u32, u32)>,
    /// Highest `GLIBC_x.y` version defined (`.gnu.version_d`): for libc itself, its version.
    pub defines_glibc: Option<(u32, u32)>,
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
    fn u16(&self, o: usize) -> Option<u64> {
        let s = self.b.get(o..o + 2)?;
        Some(if self.le {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        } as u64)
    }
    fn u32(&self, o: usize) -> Option<u64> {
        let s: [u8; 4] = self.b.get(o..o + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        } as u64)
    }
    fn u64(&self, o: usize) -> Option<u64> {
        let s: [u8; 8] = self.b.get(o..o + 8)?.try_into().ok()?;
        Some(if self.le {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    }
    fn word(&self, o: usize) -> Option<u64> {
        if self.is64 {
            self.u64(o)
        } else {
            self.u32(o)
        }
    }
    fn cstr(&self, o: usize) -> Option<&str> {
        let rest = self.b.get(o..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }
}

fn parse_glibc(name: &str) -> Option<(u32, u32)> {
    let v = name.strip_prefix("GLIBC_")?;
    let mut it = v.split('.');
    Some((
        it.next()?.parse().ok()?,
        it.next().and_then(|m| m.parse().ok()).unwrap_or(0),
    ))
}

/// Reads an ELF image; `None` if it is not a well-formed ELF file.
pub fn inspect(b: &[u8]) -> Option<ElfInfo> {
    if !is_elf(b) {
        return None;
    }
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
        (
            r.u64(0x28)? as usize,
            r.u16(0x3a)? as usize,
            r.u16(0x3c)? as usize,
        )
    } else {
        (
            r.u32(0x20)? as usize,
            r.u16(0x2e)? as usize,
            r.u16(0x30)? as usize,
        )
    };
    let section = |i: usize| -> Option<(u64, usize, usize, usize, usize)> {
        let o = shoff + i * shentsize;
        // (type, offset, size, link, info)
        if r.is64 {
            Some((
                r.u32(o + 4)?,
                r.u64(o + 0x18)? as usize,
                r.u64(o + 0x20)? as usize,
                r.u32(o + 0x28)? as usize,
                r.u32(o + 0x2c)? as usize,
            ))
        } else {
            Some((
                r.u32(o + 4)?,
                r.u32(o + 0x10)? as usize,
                r.u32(o + 0x14)? as usize,
                r.u32(o + 0x18)? as usize,
                r.u32(o + 0x1c)? as usize,
            ))
        }
    };
    let mut max_glibc = None;
    let mut defines_glibc = None;
    for i in 0..shnum {
        let Some((kind, off, _size, link, count)) = section(i) else {
            break;
        };
        if kind == 0x6fff_fffd {
            // SHT_GNU_verdef: Verdef { version, flags, ndx, cnt: u16; hash, aux, next: u32 }
            let (_, str_off, _, _, _) = section(link)?;
            let mut vd = off;
            for _ in 0..count.max(1) {
                let aux = r.u32(vd + 12)? as usize;
                let next = r.u32(vd + 16)? as usize;
                if let Some(v) = r
                    .u32(vd + aux)
                    .and_then(|name| r.cstr(str_off + name as usize))
                    .and_then(parse_glibc)
                {
                    defines_glibc = defines_glibc.max(Some(v));
                }
                if next == 0 {
                    break;
                }
                vd += next;
            }
            continue;
        }
        if kind != 0x6fff_fffe {
            continue; // SHT_GNU_verneed
        }
        let (_, str_off, _, _, _) = section(link)?;
        let mut vn = off;
        for _ in 0..count.max(1) {
            let cnt = r.u16(vn + 2)? as usize;
            let aux = r.u32(vn + 8)? as usize;
            let next = r.u32(vn + 12)? as usize;
            let mut a = vn + aux;
            for _ in 0..cnt {
                let name = r.u32(a + 8)? as usize;
                if let Some(v) = r.cstr(str_off + name).and_then(parse_glibc) {
                    max_glibc = max_glibc.max(Some(v));
                }
                let an = r.u32(a + 12)? as usize;
                if an == 0 {
                    break;
                }
                a += an;
            }
            if next == 0 {
                break;
            }
            vn += next;
        }
        let _ = r.word(0);
    }
    Some(ElfInfo {
        machine,
        max_glibc,
        defines_glibc,
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
        assert!(inspect(b"not an elf").is_none());
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
        assert_eq!(parse_glibc("GLIBC_2.28"), Some((2, 28)));
        assert_eq!(parse_glibc("GLIBC_PRIVATE"), None);
    }
}
