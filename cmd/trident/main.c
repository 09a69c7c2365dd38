/* Placeholder entry point until the module system lands (issue 2). */
#include <stdio.h>

#include "tr_build_config.h"

int
main(void)
{
    printf("trident %s (%s)\n", TR_VERSION, TR_REVISION);
    return 0;
}
