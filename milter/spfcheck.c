/* spfcheck.c - being written; see spfcheck.h */
