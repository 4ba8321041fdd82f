// xen/include/public/io/console.h: struct xencons_interface

export const XENCONS = {
  in: 0, inSize: 1024, out: 1024, outSize: 2048, in_cons: 3072, in_prod: 3076, out_cons: 3080, out_prod: 3084,
} as const;
