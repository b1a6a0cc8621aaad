/* authres.c - being written; see authres.h */
