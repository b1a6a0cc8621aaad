/* spfcheck.h - being written */
