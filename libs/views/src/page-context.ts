/** What every page needs besides its data: who is looking, how assets load, the CSP nonce. */

/** The actions the console offers; each is shown only to a role its gRPC method allows. */
export type Permissions = {
  /** TriggerService/TriggerRun. */
  readonly triggerRun: boolean;
  /** TriggerService/CancelRun. */
  readonly cancelRun: boolean;
  /** DeployerService/PromoteRollout and AbortRollout. */
  readonly rollout: boolean;
  /** RegistryService/SetAlias. */
  readonly setAlias: boolean;
};

/** The person looking at a page. */
export type Viewer = {
  /** Name from the token (`anonymous` in development without authentication). */
  readonly name: string;
  /** Roles from the token (`admin` when authentication is off). */
  readonly roles: readonly string[];
  /** What the page may offer to do (the services still decide). */
  readonly can: Permissions;
};

/** How a page gets uPlot: from the console's /assets, or inlined so the file works offline. */
export type AssetMode = { readonly kind: 'linked'; readonly base: string } | { readonly kind: 'standalone'; readonly uplotJs: string; readonly uplotCss: string };

/** Everything a page needs besides its data. */
export type PageContext = {
  /** The nonce of this response's CSP (console pages); standalone files have none. */
  readonly nonce?: string;
  /** Who is looking; undefined in a standalone report (no actions, no navigation). */
  readonly viewer?: Viewer;
  /** Where uPlot comes from. */
  readonly assets: AssetMode;
};

/** A viewer allowed nothing, for reports and tests. */
export const READ_ONLY: Permissions = Object.freeze({ triggerRun: false, cancelRun: false, rollout: false, setAlias: false });
