/* version.c - the library's own version, for callers that want to know
 * which liblamina.so.1 they were loaded with (LM_VERSION_STRING in their
 * binary is the header they were compiled against). */
#include "lamina.h"

const char *lm_version(void) { return LM_VERSION_STRING; }
