/* set_meta.c - sets metadata of a model file, for tests/cli/test_names.sh
 * to make a model as an older lamina wrote it (its lamina_version and its
 * lists): set_meta MODEL KEY VALUE [KEY VALUE ...]. Exit 1 if the model
 * does not load or save. */
#include "lamina.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 4 || argc % 2) {
        fprintf(stderr, "usage: set_meta MODEL KEY VALUE [KEY VALUE ...]\n");
        return 2;
    }
    lm_net *net;
    if (lm_net_load(&net, argv[1])) {
        fprintf(stderr, "set_meta: %s\n", lm_errmsg());
        return 1;
    }
    int rc = 0;
    for (int i = 2; i + 1 < argc && !rc; i += 2) rc = lm_net_set_meta(net, argv[i], argv[i + 1]) != LM_OK;
    if (rc || lm_net_save(net, argv[1])) {
        fprintf(stderr, "set_meta: %s\n", lm_errmsg());
        rc = 1;
    }
    lm_net_free(net);
    return rc;
}
