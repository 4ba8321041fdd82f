// xen/include/public/io/netif.h: the network rings between xen-netfront
// and a network backend. TX entries are 12 bytes (request; the response is
// 4), RX entries 8.

import { struct, registered } from "../layout.js";

export const NETTXF = { csum_blank: 1, data_validated: 2, more_data: 4, extra_info: 8 } as const;
export const NETRXF = { data_validated: 1, csum_blank: 2, more_data: 4, extra_info: 8, gso_prefix: 16 } as const;
export const NETIF_RSP = { dropped: -2, error: -1, okay: 0, null: 1 } as const;
export const XEN_NETIF_EXTRA_FLAG_MORE = 1;
export const XEN_NETIF_EXTRA_TYPE = { NONE: 0, GSO: 1, MCAST_ADD: 2, MCAST_DEL: 3, HASH: 4 } as const;
export const XEN_NETIF_GSO_TYPE = { NONE: 0, TCPV4: 1, TCPV6: 2 } as const;
export const XEN_NETIF_MAX_TX_SIZE = 0xFFFF;
export const XEN_NETBK_LEGACY_SLOTS_MAX = 18; // the most slots one packet may take (netback's limit)

export const netif_tx_request = registered(struct("netif_tx_request", 12, {
  gref: [0, "u32"], offset: [4, "u16"], flags: [6, "u16"], id: [8, "u16"], size: [10, "u16"],
}));
export const netif_tx_response = registered(struct("netif_tx_response", 4, { id: [0, "u16"], status: [2, "i16"] }));
export const netif_rx_request = registered(struct("netif_rx_request", 8, { id: [0, "u16"], pad: [2, "u16"], gref: [4, "u32"] }));
export const netif_rx_response = registered(struct("netif_rx_response", 8, {
  id: [0, "u16"], offset: [2, "u16"], flags: [4, "u16"], status: [6, "i16"],
}));
export const netif_extra_info = registered(struct("netif_extra_info", 8, { type: [0, "u8"], flags: [1, "u8"], u: [2, "bytes", 6] }));
export const NETIF_TX_ENTRY = 12;
export const NETIF_RX_ENTRY = 8;
