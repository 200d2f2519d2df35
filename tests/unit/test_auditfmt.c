#include "tap.h"
int main(void){ TAP_OK(0, "PLACEHOLDER test not written yet"); return tap_done(); }
