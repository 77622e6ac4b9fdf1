/** Worked examples for docs/sites.md, one per source kind; the tests load each one, so they stay valid. */
export const EXAMPLES: Record<'xferlog' | 'directory' | 'lemnatec', string> = {
  xferlog: `version: 1
sites:
  - name: ua-mac                      # the Maricopa gantry's FTP cache
    source:
      kind: xferlog
      xferlog: /var/log/xferlog
      timezone: America/Phoenix
      cacheRoot: /gantry_data
      ftpRoot: /gantry_data
      ftpUserRoots: { lemnatec: LemnaTec }
    whitelist: [MovingSensor/stereoTop, LemnaTec/EnvironmentLogger]
    exclude: ["@Recycle"]
    globus: { sourceEndpoint: aaaaaaaa-0000-4000-8000-00000000cafe, sourceRoot: /gantry_data }
    destinations:
      - name: hpc
        endpoint: bbbbbbbb-0000-4000-8000-00000000beef
        root: /terraref/sites/ua-mac
        batch: { maxFiles: 500, maxBytes: 536870912000, maxAgeSeconds: 10 }
    clowder:
      space: { id: 5bd0c7e34f0c7ff3fa3e1c8b }
      collectionRoot: /home/clowder/sites/ua-mac
      # TERRA's fixed-metadata datasets (terrautils 1.1.0 sensors.py); gantry metadata links to them and is placed by them
      fixedMetadata: { scanalyzer: 5873eac64f0cad7d81349b0b, stereoTop: 5873a8ae4f0cad7d8131ac0e, flirIrCamera: 5873a7184f0cad7d8131994a, scanner3DTop: 5873a7444f0cad7d81319b2b }
    deletion:
      policy: delete-after-verified-transfer
      sweep: { minAgeMinutes: 2880, dailyAt: "03:00" }
`,
  directory: `version: 1
sites:
  - name: sequencer                   # a sequencer writing runs to a network share
    source:
      kind: directory
      root: /mnt/novaseq/runs
      settleSeconds: 120
      completionMarkers: { names: [RTAComplete.txt, CopyComplete.txt], folder: run }
      poll: true                      # an NFS mount: no inotify events
      pollIntervalSeconds: 60
    whitelist: [Runs]
    pathRules: identity
    globus: { sourceEndpoint: eeeeeeee-0000-4000-8000-0000000005e9 }
    destinations:
      - { name: archive, endpoint: bbbbbbbb-0000-4000-8000-00000000beef, root: /terraref/sites/sequencer }
    clowder:
      space: { id: 5bd0c7e34f0c7ff3fa3e1c8c }
      collectionRoot: /home/clowder/sites/sequencer
    deletion: { policy: never }        # the instrument's share is read-only to us
`,
  lemnatec: `version: 1
sites:
  - name: danforth                    # the Danforth Center's LemnaTec Scanalyzer (lemnatec-source)
    source:
      kind: lemnatec
      database: { urlEnv: DANFORTH_LEMNATEC_DB_URL }   # the URL (with its password) stays in the environment
      blobRoot: /mnt/lemnatec/blobs
      stagingRoot: /var/lib/terra/danforth-staging
      experiments: [Bellwether_2026]
      columns: { snapshot.water_amount: water_amount_g }   # this release's column name
      experimentMetadata:
        title: Bellwether 2026
        sample: { barcode: { species: { Fp: Sorghum bicolor }, genotypes: { Fp001: BTx642 }, treatments: { AB: "80%: 173.6 ml water (37.5% VWC)" } } }
    whitelist: [ddpscIndoorSuite]
    pathRules: identity
    globus: { sourceEndpoint: ffffffff-0000-4000-8000-000000000dbf }
    destinations:
      - { name: hpc, endpoint: bbbbbbbb-0000-4000-8000-00000000beef, root: /terraref/sites/danforth }
    clowder:
      space: { id: 5bd0c7e34f0c7ff3fa3e1c8d }
      collectionRoot: /home/clowder/sites/danforth
    deletion: { policy: never }
`,
};
