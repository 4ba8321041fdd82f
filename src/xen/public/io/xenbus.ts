// xen/include/public/io/xenbus.h: the states both ends of a split device
// publish in xenstore.

export const XenbusState = {
  Unknown: 0, Initialising: 1, InitWait: 2, Initialised: 3, Connected: 4, Closing: 5, Closed: 6, Reconfiguring: 7, Reconfigured: 8,
} as const;
