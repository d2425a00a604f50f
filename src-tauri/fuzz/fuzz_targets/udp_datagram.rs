#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| relaydeck_server::fuzzing::udp_datagram(data));
