/* SPDX-License-Identifier: MIT */
/* kubeconfig_parse() reads the YAML (yaml.c) and the credentials in it. Files
 * it names are looked up under a directory that does not exist. */
#include "fuzz.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct kube_credentials *cred = NULL;
	struct diag d = {};

	if (kubeconfig_parse("fuzz.kubeconfig", text, size, "/nonexistent-hive-fuzz", &cred, &d) >= 0)
		kube_credentials_free(cred);
	diag_clear(&d);
	free(text);
	return 0;
}
