mod emulator;
