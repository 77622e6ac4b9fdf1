/**
 * What terrautils (tag 1.1.0, df17dcb) made of BETYdb's answers, as pure
 * functions: `Sensors.get_experiment` + `lemnatec._get_experiment_metadata`
 * (experiments running on the scan's date), and `betydb.get_sites` with a
 * date and a point + `lemnatec._get_sites` (the plots containing an image's
 * centroid, kept when one of their experiments runs on that date). The
 * point-in-polygon test is BETYdb's own (`containing=lat,lon`); the response
 * shapes are terrautils' reading of BETYdb's API, not checked against a
 * live BETYdb (decision 0027).
 */

export interface BetyExperiment {
  id: number | string;
  name: string;
  start_date: string;
  end_date: string;
  view_url?: string;
}

export interface BetySite {
  id: number | string;
  sitename: string;
  view_url?: string;
  experiments?: { experiment: { id: number | string; name?: string } }[];
}

/** `experiment_metadata`: every experiment whose [start_date, end_date] holds the date (YYYY-MM-DD). */
export function experimentMetadata(experiments: readonly BetyExperiment[], date: string): { name: string; start_date: string; end_date: string; url: string | undefined }[] {
  return experiments.filter((e) => running(e, date)).map((e) => ({ name: e.name, start_date: e.start_date, end_date: e.end_date, url: e.view_url }));
}

/**
 * The sites BETYdb found containing one centroid, kept when one of their
 * experiments runs on the date. Season 4's half plots (names ending " W" or
 * " E") are left out, as terrautils did by default.
 */
export function sitesOnDate(experimentsAtPoint: readonly BetyExperiment[], sitesAtPoint: readonly BetySite[], date: string): BetySite[] {
  const runningIds = new Set(experimentsAtPoint.filter((e) => running(e, date)).map((e) => String(e.id)));
  const kept = new Map<string, BetySite>();
  for (const s of sitesAtPoint) {
    for (const x of s.experiments ?? []) {
      if (!runningIds.has(String(x.experiment.id))) continue;
      const halfPlot = (x.experiment.name ?? '').includes('Season 4') && (s.sitename.endsWith(' W') || s.sitename.endsWith(' E'));
      if (halfPlot) continue;
      kept.set(String(s.id), s);
    }
  }
  return [...kept.values()];
}

/**
 * `site_metadata`: one `{sitename, url}` per site found at any centroid,
 * then, when there was one, the note terrautils added. (The Python built a
 * dict and returned its values, so the note's place in the list was
 * Python 2's hash order; here it comes last.)
 */
export function siteMetadata(sitesPerCentroid: readonly (readonly BetySite[])[]): ({ sitename: string; url: string | undefined } | string)[] {
  const byId = new Map<string, { sitename: string; url: string | undefined }>();
  for (const sites of sitesPerCentroid) for (const s of sites) byId.set(String(s.id), { sitename: s.sitename, url: s.view_url });
  return byId.size === 0 ? [] : [...byId.values(), 'sitename is the plot that contains the image centroid'];
}

/** Compared as dates (YYYY-MM-DD); BETYdb's dates may carry a time, which terrautils' strptime did not expect. */
function running(e: BetyExperiment, date: string): boolean {
  return e.start_date.slice(0, 10) <= date && date <= e.end_date.slice(0, 10);
}
