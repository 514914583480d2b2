// Imported first: colours only on a terminal (citty decides when it loads).
import { isTerminal } from "../lib/base/log.ts";

if (!isTerminal(1) && process.env.NO_COLOR === undefined) process.env.NO_COLOR = "1";
