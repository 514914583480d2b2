// Imported first: colours only on a terminal (citty decides when it loads).
if (!process.stdout.isTTY && process.env.NO_COLOR === undefined) process.env.NO_COLOR = "1";
