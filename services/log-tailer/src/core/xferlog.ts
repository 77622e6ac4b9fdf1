// The parser lives in packages/xferlog (the log-tailer and `terra replay` read the same lines); kept here so the tailer's imports stay put.
export * from '@terra-transfer/xferlog';
