export { ClowderClient, type ClowderClientOptions } from './client.js';
export { ClowderUnavailableError, ClowderServerError, unavailableOrFailed, ClowderRejectedError, ClowderProtocolError, errorDetail, isRetryableStatus } from './errors.js';
export { isObjectId, scalaList } from './parse.js';
export type * from './types.js';
