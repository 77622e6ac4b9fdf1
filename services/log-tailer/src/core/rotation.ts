// Rotated-generation naming lives in packages/xferlog (the log-tailer and `terra replay` find the same files).
export * from '@terra-transfer/xferlog';
