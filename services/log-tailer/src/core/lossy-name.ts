// The logged-name mapping lives in packages/xferlog (the log-tailer and `terra replay` map the same names).
export * from '@terra-transfer/xferlog';
