export * from './schema.js';
export { loadSites, parseSites, selectSites, ownedRoot, SiteFileError, type SiteProblem } from './load.js';
export { renderSitesDoc } from './render-docs.js';
export { EXAMPLES } from './examples.js';
export { stringifySites, testSite } from './write.js';
