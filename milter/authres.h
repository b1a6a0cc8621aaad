/* authres.h - being written */
