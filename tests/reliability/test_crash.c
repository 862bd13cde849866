#include "rel.h"
int main(void){return 0;}
