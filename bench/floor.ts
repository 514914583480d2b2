// The runtime's floor for bench/run.ts: compiled as Konta is (packaging/build.sh), it does nothing but
// print its memory the way `konta --verbose` does at exit.
import { describeMemory, memoryBreakdown, peakRssBytes } from "../lib/base/host.ts";

const m = memoryBreakdown();
console.log(m ? describeMemory(m, peakRssBytes()) : "no /proc/self/smaps");
