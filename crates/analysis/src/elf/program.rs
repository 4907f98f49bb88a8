//! The two things the dynamic loader reads from an ELF file before it runs it: the program
//! interpreter (`PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`) and the shared libraries it needs
//! (`DT_NEEDED`). Enough to run a base image's `python3.X` through the base's own loader and to
//! prove that every library it loads comes from the base. 64-bit little-endian ELF only (x86_64
//! and aarch64, the two Lambda architectures); anything else reads as "not ELF".

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dynamic {
    /// `PT_INTERP`: the loader's absolute path in the image.
    pub interp: Option<String>,
    /// `DT_NEEDED` names, in order.
    pub needed: Vec<String>,
    /// `e_machine`: 62 = x86_64, 183 = aarch64.
    pub machine: u16,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}
fn cstr(b: &[u8], o: usize) -> Option<String> {
    let rest = b.get(o..)?;
    let end = rest.iter().position(|&c| c == 0)?;
    String::from_utf8(rest[..end].to_vec()).ok()
}

/// Reads `PT_INTERP` and `DT_NEEDED`; `None` if `b` is not a 64-bit little-endian ELF file.
pub fn read(b: &[u8]) -> Option<Dynamic> {
    if !b.starts_with(b"\x7fELF") || b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        return None;
    }
    let machine = u16_at(b, 18)?;
    let phoff = u64_at(b, 32)? as usize;
    let phentsize = u16_at(b, 54)? as usize;
    let phnum = u16_at(b, 56)? as usize;
    let mut out = Dynamic {
        machine,
        ..Default::default()
    };
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum {
        let p = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let kind = u32_at(b, p)?;
        let offset = u64_at(b, p + 8)? as usize;
        let vaddr = u64_at(b, p + 16)?;
        let filesz = u64_at(b, p + 32)? as usize;
        match kind {
            PT_INTERP => out.interp = cstr(b.get(offset..offset.checked_add(filesz)?)?, 0),
            PT_DYNAMIC => dynamic = Some((offset, filesz)),
            PT_LOAD => loads.push((vaddr, offset as u64, filesz as u64)),
            _ => {}
        }
    }
    let Some((doff, dsize)) = dynamic else {
        return Some(out);
    };
    // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
    let to_offset = |addr: u64| {
        loads
            .iter()
            .find(|(v, _, sz)| addr >= *v && addr < v + sz)
            .map(|(v, o, _)| (addr - v + o) as usize)
    };
    let mut needed_offsets = Vec::new();
    let mut strtab = None;
    let mut o = doff;
    while o + 16 <= doff.checked_add(dsize)? {
        let tag = u64_at(b, o)?;
        let val = u64_at(b, o + 8)?;
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed_offsets.push(val as usize),
            DT_STRTAB => strtab = to_offset(val),
            _ => {}
        }
        o += 16;
    }
    if let Some(st) = strtab {
        for n in needed_offsets {
            out.needed.push(cstr(b, st.checked_add(n)?)?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_test_binary() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let d = super::read(&me).expect("an ELF file");
        assert!(
            d.interp.as_deref().is_some_and(|i| i.contains("ld-")),
            "{d:?}"
        );
        assert!(d.needed.iter().any(|n| n.starts_with("libc.so")), "{d:?}");
        assert!(super::read(b"#!/bin/sh\n").is_none());
    }
}
