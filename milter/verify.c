/* verify.c - being written; see verify.h */
