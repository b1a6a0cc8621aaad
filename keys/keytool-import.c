#include "keys/keytool.h"
int
keytool_cmd_import(struct keytool *kt)
{
	(void)kt;
	return keytool_fail("import-opendkim: not yet");
}
