#ifndef FERRY_EXPORT_CMDS_H
#define FERRY_EXPORT_CMDS_H
int cmd_export(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_plan(int argc, char **argv);
#endif
