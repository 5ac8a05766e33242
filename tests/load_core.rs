//! CO-RE relocations against the running kernel: `tests/data/core_kern.o`
//! asks for field offsets, sizes, existence, signedness, a type size, a
//! type id and an enum value of kernel types it declares wrongly on
//! purpose. After the load, one test run writes what the loader patched
//! into `.bss`; the expected values come from `bpftool btf dump`, not from
//! rxdp's own BTF reader.

use std::os::fd::AsFd;
use std::path::Path;

use rxdp::{load, LoadOptions, NoObserver};
use rxdp_kernel_tests::{require_kernel, vmlinux_btf_dump};
use rxdp_syscalls::bpf::{prog_test_run, MapHandle, TestRun};

/// One type of `bpftool btf dump file ... format raw`: id, size, members
/// (name, bit offset, type id).
struct Dumped {
    id: u32,
    size: u64,
    members: Vec<(String, u64, u32)>,
    /// For enums: enumerator name and value.
    values: Vec<(String, u64)>,
}

/// The first type of `kind` named `name` in the dump.
fn dumped(dump: &str, kind: &str, name: &str) -> Dumped {
    let header = format!("] {kind} '{name}' ");
    let mut lines = dump.lines().skip_while(|line| !line.contains(&header));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{kind} {name} not in the kernel's BTF"));
    let id = first
        .trim_start_matches('[')
        .split(']')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {first:?}"));
    let size = first
        .split("size=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|size| size.parse().ok())
        .unwrap_or_else(|| panic!("no size in {first:?}"));
    let mut members = Vec::new();
    let mut values = Vec::new();
    for line in lines.take_while(|line| line.starts_with('\t')) {
        let name = line.split('\'').nth(1).unwrap_or_default().to_string();
        let field = |key: &str| {
            line.split(key)
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<i64>().ok())
        };
        if let (Some(type_id), Some(bits)) = (field("type_id="), field("bits_offset=")) {
            members.push((name, bits as u64, type_id as u32));
        } else if let Some(value) = field("val=") {
            values.push((name, value as u64));
        }
    }
    Dumped {
        id,
        size,
        members,
        values,
    }
}

fn member_offset(t: &Dumped, name: &str) -> u64 {
    t.members
        .iter()
        .find(|(member, _, _)| member == name)
        .map(|(_, bits, _)| bits / 8)
        .unwrap_or_else(|| panic!("no member {name}"))
}

#[test]
fn core_relocations_take_the_kernel_values() {
    if !require_kernel() {
        return;
    }
    let dump = vmlinux_btf_dump();
    let skb = dumped(&dump, "STRUCT", "sk_buff");
    let dev = dumped(&dump, "STRUCT", "net_device");
    let action = dumped(&dump, "ENUM", "xdp_action");
    let redirect = action
        .values
        .iter()
        .find(|(name, _)| name == "XDP_REDIRECT")
        .map(|(_, value)| *value)
        .unwrap_or_else(|| panic!("no XDP_REDIRECT"));

    let object = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/core_kern.o");
    let loaded =
        load(&LoadOptions::new(&object), &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    let prog = loaded.prog_fd(0).unwrap_or_else(|| panic!("no prog_fd[0]"));
    let packet = [0u8; 64];
    let result = prog_test_run(&TestRun::new(prog, &packet)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.retval, 2, "XDP_PASS");

    let bss = loaded.map(".bss").unwrap_or_else(|| panic!("no .bss map"));
    let handle = MapHandle::new(bss.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    let mut value = vec![0u8; handle.value_size()];
    assert!(handle
        .lookup(&0u32.to_ne_bytes(), &mut value)
        .unwrap_or(false));
    let results: Vec<u64> = value
        .chunks_exact(8)
        .map(|word| u64::from_ne_bytes(word.try_into().unwrap_or_default()))
        .collect();
    let expected = [
        member_offset(&skb, "len"),
        member_offset(&skb, "data_len"),
        4,
        member_offset(&dev, "ifindex"),
        member_offset(&dev, "name") + 3,
        1, // ifindex is an int
        0, // sk_buff has no rxdp_no_such_field
        0, // the poisoned branch never ran
        dev.size,
        0, // no struct rxdp_no_such_struct
        redirect,
        u64::from(dev.id),
    ];
    assert_eq!(results, expected);
}
