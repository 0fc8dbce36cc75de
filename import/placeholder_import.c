/* placeholder until the module lands */
typedef int ferry_placeholder_import;
