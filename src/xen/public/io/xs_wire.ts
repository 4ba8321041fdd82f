// xen/include/public/io/xs_wire.h: the xenstore wire protocol.

export const XS = {
  CONTROL: 0, DIRECTORY: 1, READ: 2, GET_PERMS: 3, WATCH: 4, UNWATCH: 5, TRANSACTION_START: 6,
  TRANSACTION_END: 7, INTRODUCE: 8, RELEASE: 9, GET_DOMAIN_PATH: 10, WRITE: 11, MKDIR: 12, RM: 13,
  SET_PERMS: 14, WATCH_EVENT: 15, ERROR: 16, IS_DOMAIN_INTRODUCED: 17, RESUME: 18, SET_TARGET: 19,
  RESET_WATCHES: 21, DIRECTORY_PART: 22, TYPE_COUNT: 23, INVALID: 0xFFFF,
} as const;
export const XS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(XS).map(([k, v]) => [v, k]));

export const XSD_SOCKMSG_SIZE = 16; // type, req_id, tx_id, len (u32 each)
export const XENSTORE_PAYLOAD_MAX = 4096;
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;
export const XENSTORE_RING_SIZE = 1024;

// struct xenstore_domain_interface
export const XSRING = {
  req: 0, rsp: 1024, req_cons: 2048, req_prod: 2052, rsp_cons: 2056, rsp_prod: 2060, server_features: 2064,
  connection: 2068, error: 2072,
} as const;
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1, XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0, XENSTORE_RECONNECT = 1;
// what xenstored writes to the ring's error field when it stops serving it
export const XENSTORE_ERROR = { NONE: 0, COMM: 1, RINGIDX: 2, PROTO: 3 } as const;

// The error names the protocol carries, with their errno values (xsd_errors[])
export const XSD_ERRORS: [string, number][] = [
  ["EINVAL", 22], ["EACCES", 13], ["EEXIST", 17], ["EISDIR", 21], ["ENOENT", 2], ["ENOMEM", 12], ["ENOSPC", 28],
  ["EIO", 5], ["ENOTEMPTY", 39], ["ENOSYS", 38], ["EROFS", 30], ["EBUSY", 16], ["EAGAIN", 11], ["EISCONN", 106],
  ["E2BIG", 7], ["EPERM", 1],
];

export const XenbusState = {
  Unknown: 0, Initialising: 1, InitWait: 2, Initialised: 3, Connected: 4, Closing: 5, Closed: 6,
  Reconfiguring: 7, Reconfigured: 8,
} as const;
