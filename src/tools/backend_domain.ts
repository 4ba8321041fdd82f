// Which domain serves a split device: xl.cfg's `backend=` in disk and vif
// specs (xl-disk-configuration(5), xl-network-configuration(5)).

// xl.cfg's backend=: Domain-0 (by name or id 0) is the default and is left
// out; any other domain is kept by the name or id written, for the
// toolstack to find when the device is added.
export function backendDomain(v: string | undefined, spec: string, E: new (m: string) => Error): string | undefined {
  if (v === undefined || v === "0" || v === "Domain-0") return undefined;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new E(`backend '${v}' in '${spec}' is not a domain name or id`);
  return v;
}
