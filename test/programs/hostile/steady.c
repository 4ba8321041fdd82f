/* A well-behaved guest that keeps computing and reporting, to show that a
 * hostile neighbour does not stop it. */
#include "guest.h"

#ifndef SHUTDOWN_REASON
#define SHUTDOWN_REASON 0 /* poweroff; 3 declares a crash */
#endif

const char program_name[] = "steady";

void program_main(void) {
  u64 h = 1469598103934665603ul;
  for (u64 k = 1; k <= ROUNDS; k++) {
    for (u64 j = 0; j < 20000; j++) {
      h ^= j;
      h *= 1099511628211ul;
    }
    printf("steady: %lu %016lx\n", k, h);
  }
  xen_shutdown(SHUTDOWN_REASON);
}
