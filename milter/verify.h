/* verify.h - being written */
