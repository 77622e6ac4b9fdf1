export { GlobusClient, TASK_IDS_PER_FILTER, type GlobusClientOptions, type GlobusEndpoint, type CallOutcome, type CallInfo, type TaskListQuery, type TransferInput } from './client.js';
export { GlobusError, isRetryableFailure } from './errors.js';
export { TokenSource, TRANSFER_SCOPE, transferScope, type TokenResponse } from './auth.js';
export { RateLimiter } from './rate-limit.js';
export { SharedRequestBudget, DEFAULT_IDENTITY_BUDGET_PER_SEC, type RequestBudget, type SharedBudgetOptions } from './request-budget.js';
export { decideRetry, backoffMs, SDK_RETRY_POLICY, type RetryPolicy, type RetryDecision, type AttemptOutcome } from './retry.js';
export * from './types.js';
export { globusSettings, globusClientFromConfig, type GlobusConfig } from './settings.js';
